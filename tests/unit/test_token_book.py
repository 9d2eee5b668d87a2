"""Bearer tokens: the server keeps SHA-256 hashes only and checks a token against every one."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from services.ingest.auth import Role, TokenBook, TokensFileError
from services.ingest.errors import ApiError

TOKENS = {"jinan-officer": "tok-jinan-secret", "ops": "tok-ops-secret", "dash": "tok-dash-secret"}


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@pytest.fixture
def book(tmp_path: Path) -> TokenBook:
    path = tmp_path / "tokens.yaml"
    path.write_text(
        "tokens:\n"
        f"  - {{name: jinan-officer, sha256: {sha(TOKENS['jinan-officer'])}, role: city,"
        " city: jinan}\n"
        f"  - {{name: ops, sha256: {sha(TOKENS['ops'])}, role: admin}}\n"
        f"  - {{name: dash, sha256: {sha(TOKENS['dash'])}, role: viewer}}\n"
    )
    return TokenBook.load(path, {"jinan", "qingdao"})


def test_a_token_is_recognised_by_its_hash(book: TokenBook) -> None:
    who = book.authenticate(f"Bearer {TOKENS['jinan-officer']}")
    assert (who.name, who.role, who.city) == ("jinan-officer", Role.CITY, "jinan")
    assert book.authenticate(f"bearer {TOKENS['ops']}").role is Role.ADMIN


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer   ", "Basic dG9rOg==", "tok-ops-secret", "Bearer tok-ops-secreT"],
)
def test_a_missing_or_unknown_token_is_401(book: TokenBook, header: str | None) -> None:
    with pytest.raises(ApiError) as raised:
        book.authenticate(header)
    assert raised.value.status == 401
    assert raised.value.headers == {"WWW-Authenticate": "Bearer"}


def test_the_hash_itself_is_no_token(book: TokenBook) -> None:
    """Someone who reads the tokens file (hashes only) cannot call the API with what it holds."""
    with pytest.raises(ApiError):
        book.authenticate(f"Bearer {sha(TOKENS['ops'])}")


def test_a_tokens_file_with_a_plaintext_token_instead_of_a_hash_is_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tokens.yaml"
    path.write_text("tokens:\n  - {name: ops, sha256: tok-ops-secret, role: admin}\n")
    with pytest.raises(TokensFileError, match="not a valid tokens file"):
        TokenBook.load(path, {"jinan"})
