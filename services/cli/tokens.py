"""First-run API tokens for ``pacer up``: one per city, one admin, one viewer.

The tokens file (``PACER_TOKENS_FILE``, contract §3) holds SHA-256 hashes only. The plaintext
tokens go once to a separate file readable by the owner alone, for the operator to hand out.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class IssuedToken:
    name: str
    role: str  # city | admin | viewer
    city: str | None
    token: str

    def entry(self) -> dict[str, str]:
        """The tokens-file entry: everything but the token itself."""
        digest = hashlib.sha256(self.token.encode()).hexdigest()
        entry = {"name": self.name, "sha256": digest, "role": self.role}
        if self.city is not None:
            entry["city"] = self.city
        return entry


def issue_tokens(city_ids: Iterable[str]) -> list[IssuedToken]:
    issued = [
        IssuedToken(f"{city}-officer", "city", city, secrets.token_urlsafe(32)) for city in city_ids
    ]
    issued.append(IssuedToken("admin", "admin", None, secrets.token_urlsafe(32)))
    issued.append(IssuedToken("viewer", "viewer", None, secrets.token_urlsafe(32)))
    return issued


def write_secret_file(path: Path, issued: Iterable[IssuedToken]) -> None:
    """``name role city token`` per line (``-`` for no city), mode 0600 from the first byte."""
    lines = ["# Pacer API tokens (plaintext). Hand each to its holder; keep this file private."]
    lines.append("# name role city token")
    lines += [f"{t.name} {t.role} {t.city or '-'} {t.token}" for t in issued]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its old mode through O_CREAT
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")


def tokens_yaml(issued: Iterable[IssuedToken]) -> str:
    """The tokens file's content (contract §3) for these tokens: their hashes, never the tokens."""
    return yaml.safe_dump({"tokens": [t.entry() for t in issued]}, sort_keys=False)


def write_tokens_file(path: Path, issued: Iterable[IssuedToken], secret_file: Path) -> None:
    header = f"# Pacer API tokens, SHA-256 hashes only. The tokens themselves: {secret_file}\n"
    body = tokens_yaml(issued)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(header + body, encoding="utf-8")
    partial.replace(path)  # a crash mid-write never leaves a half tokens file


def ensure_tokens(tokens_file: Path, secret_file: Path, city_ids: Iterable[str]) -> bool:
    """Create both files unless ``tokens_file`` exists; True when they were created."""
    if tokens_file.exists():
        return False
    tokens_file.parent.mkdir(parents=True, exist_ok=True)
    issued = issue_tokens(city_ids)
    write_secret_file(secret_file, issued)  # first: a tokens file always has its secret file
    write_tokens_file(tokens_file, issued, secret_file)
    return True
