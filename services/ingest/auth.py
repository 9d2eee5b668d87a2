"""Bearer tokens from ``PACER_TOKENS_FILE``: SHA-256 hashes only, checked in constant time."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.ingest.errors import ApiError


class Role(StrEnum):
    CITY = "city"
    ADMIN = "admin"
    VIEWER = "viewer"


class TokensFileError(ValueError):
    pass


class _Token(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    role: Role
    city: str | None = None


class _TokensFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tokens: list[_Token]


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    city: str | None

    def may_write(self, city: str) -> bool:
        return self.role is Role.ADMIN or (self.role is Role.CITY and self.city == city)

    @property
    def sees_site_owners(self) -> bool:
        """Admin and viewer tokens learn which city holds a site id; a city token only that
        another city does (contract §3, issue 11: the dry run named any id's owner)."""
        return self.role is not Role.CITY


class TokenBook:
    def __init__(self, principals: dict[str, Principal]) -> None:
        self._by_hash = principals

    @classmethod
    def load(cls, path: Path | None, known_cities: set[str]) -> TokenBook:
        if path is None:
            raise TokensFileError("PACER_TOKENS_FILE is not set: the API would accept no one")
        try:
            doc = _TokensFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except OSError as exc:
            raise TokensFileError(f"{path}: cannot read: {exc.strerror}") from exc
        except (yaml.YAMLError, ValidationError) as exc:
            raise TokensFileError(f"{path}: not a valid tokens file: {exc}") from exc
        principals: dict[str, Principal] = {}
        for index, token in enumerate(doc.tokens):
            if token.role is Role.CITY and token.city not in known_cities:
                raise TokensFileError(
                    f"{path}: tokens[{index}] ({token.name}): unknown city {token.city!r}"
                )
            if token.role is not Role.CITY and token.city is not None:
                raise TokensFileError(
                    f"{path}: tokens[{index}] ({token.name}): only city tokens name a city"
                )
            principals[token.sha256] = Principal(token.name, token.role, token.city)
        return cls(principals)

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal behind an ``Authorization: Bearer`` header, or a 401."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _unauthenticated("missing bearer token")
        digest = hashlib.sha256(token.encode()).hexdigest()
        # A lookup by the token's SHA-256, not a constant-time pass over every entry: its timing
        # depends only on the digest, which a caller cannot steer towards a stored one without a
        # SHA-256 preimage, so it reveals nothing about any token; and it costs the same with 16
        # or 1,000 cities (with 1,000 the pass over every entry took 0.13 ms, and it runs twice
        # per request: a quarter of the ingest's CPU per report; bench/NOTES-ingest-latency.md).
        found = self._by_hash.get(digest)
        if found is None:
            raise _unauthenticated("unknown token")
        return found


def _unauthenticated(message: str) -> ApiError:
    return ApiError.single(401, "unauthenticated", message, headers={"WWW-Authenticate": "Bearer"})


def forbidden(message: str) -> ApiError:
    return ApiError.single(403, "forbidden", message)
