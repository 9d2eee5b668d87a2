"""One masker for every URL Pacer prints (settings errors, sentinel URL errors, `pacer up`'s
banner): the password ``urlsplit`` reads is the part that becomes ``***``."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from shared.url_passwords import without_password


@pytest.mark.parametrize(
    "url",
    [
        "redis://user:secret@host:6379/0",
        "redis://:secret@host",
        "redis+sentinel://:s%40cret@s1:26379,s2:26379/pacer/0",
        "redis://user:p@ss@host:6379/0",  # an unencoded @: urlsplit reads up to the last one
        "https://user:pw@hooks.example/p?q=1",
    ],
)
def test_the_password_urlsplit_reads_is_the_part_hidden(url: str) -> None:
    password = urlsplit(url).password
    assert password
    shown = without_password(url)
    assert password not in shown
    assert shown == url.replace(f":{password}@", ":***@", 1)


@pytest.mark.parametrize(
    "text", ["redis://host:6379/0", "redis://user@host", "tomorrow", "", "a:b@c", "http://[::1"]
)
def test_text_without_a_password_is_left_as_it_is(text: str) -> None:
    assert without_password(text) == text
