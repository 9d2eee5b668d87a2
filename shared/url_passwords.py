"""A URL's password kept out of what Pacer prints: error messages, logs, the terminal."""

from __future__ import annotations

import re

_PASSWORD = re.compile(r"(://[^/@\s:]*):[^/\s]*@")
"""``scheme://user:`` then the password, up to the last ``@`` before the path (as ``urlsplit``
reads a netloc), in any text."""


def without_password(text: str) -> str:
    """``text`` with each URL's password as ``***`` (``redis://user:secret@host`` ->
    ``redis://user:***@host``; sentinel lists too). Never raises, whatever the text: it serves
    the messages about values that did not parse."""
    return _PASSWORD.sub(r"\1:***@", text)
