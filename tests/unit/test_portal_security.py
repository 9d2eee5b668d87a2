"""The portal's safeguards that need no server: CSRF tokens bound to the visitor's cookie,
redirects only to local paths, sessions that end when idle and hold no token in their repr."""

from __future__ import annotations

import pytest

from services.portal.security import CsrfTokens
from services.portal.sessions import MAX_UPLOADS_PER_SESSION, SessionStore, SignInThrottle
from services.portal.web import local_path


def test_a_csrf_token_is_valid_only_with_the_cookie_it_was_made_for() -> None:
    tokens = CsrfTokens()
    mine, theirs = tokens.new_cookie(), tokens.new_cookie()
    assert tokens.valid(mine, tokens.token_for(mine))
    assert not tokens.valid(mine, tokens.token_for(theirs))
    assert not tokens.valid(mine, None) and not tokens.valid(None, tokens.token_for(mine))
    assert not CsrfTokens().valid(mine, tokens.token_for(mine))  # another portal's key


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        ("/cities/jinan", "/cities/jinan"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        (None, "/"),
        ("cities/jinan", "/"),
    ],
)
def test_redirects_go_to_local_paths_only(candidate: object, expected: str) -> None:
    assert local_path(candidate) == expected


def test_sessions_end_when_idle_and_never_show_their_token() -> None:
    now = [0.0]
    store = SessionStore(idle_s=60, clock=lambda: now[0])
    session_id = store.create(
        "secret-token", {"name": "jinan-officer", "role": "city", "city": "jinan"}
    )
    session = store.get(session_id)
    assert session is not None and session.may_submit_for("jinan")
    assert not session.may_submit_for("qingdao")
    assert "secret-token" not in repr(session)
    now[0] = 59
    assert store.get(session_id) is not None  # used: the idle time starts again
    now[0] = 120
    assert store.get(session_id) is None
    assert store.get("made-up") is None


def test_a_viewer_may_not_submit_and_a_session_keeps_a_few_uploads() -> None:
    store = SessionStore(idle_s=60)
    viewer = store.get(store.create("t", {"name": "dash", "role": "viewer", "city": None}))
    assert viewer is not None and not viewer.may_submit and not viewer.may_submit_for("jinan")
    admin = store.get(store.create("u", {"name": "ops", "role": "admin", "city": None}))
    assert admin is not None and admin.may_submit_for("heze")
    kept = [admin.keep_upload(object()) for _ in range(MAX_UPLOADS_PER_SESSION + 2)]
    assert list(admin.uploads) == kept[-MAX_UPLOADS_PER_SESSION:]


def test_failed_sign_ins_from_one_address_are_throttled_for_a_while() -> None:
    now = [0.0]
    throttle = SignInThrottle(limit=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert not throttle.blocked("10.0.0.1")
        throttle.failed("10.0.0.1")
    assert throttle.blocked("10.0.0.1") and not throttle.blocked("10.0.0.2")
    now[0] = 61
    assert not throttle.blocked("10.0.0.1")
