"""Signed-in people, kept in the portal's memory: the cookie carries a random session id and
nothing else, so the API token never leaves the server after the sign-in form posted it.

Memory, not a shared store, because the portal may reach nothing but the API (contract §7):
a restarted portal signs everyone out, and more than one replica needs sticky sessions.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_SESSIONS = 10_000
"""The oldest session is dropped beyond this (16 cities' officers and the province's staff are
a few hundred people; the bound is against a flood of sign-ins, each of which needs a token)."""
MAX_UPLOADS_PER_SESSION = 3
"""Checked files a session keeps for its "submit" button; older ones are forgotten."""


@dataclass
class Session:
    token: str = field(repr=False)
    name: str
    role: str
    city: str | None
    last_seen: float
    uploads: OrderedDict[str, Any] = field(default_factory=OrderedDict, repr=False)

    def may_submit_for(self, city: str) -> bool:
        return self.role == "admin" or (self.role == "city" and self.city == city)

    @property
    def may_submit(self) -> bool:
        return self.role in ("admin", "city")

    def keep_upload(self, upload: Any) -> str:
        upload_id = secrets.token_urlsafe(12)
        self.uploads[upload_id] = upload
        while len(self.uploads) > MAX_UPLOADS_PER_SESSION:
            self.uploads.popitem(last=False)
        return upload_id


class SessionStore:
    def __init__(self, idle_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._idle_s = idle_s
        self._clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def create(self, token: str, me: dict[str, Any]) -> str:
        session_id = secrets.token_urlsafe(32)
        role = str(me.get("role"))
        city = me.get("city")
        self._sessions[session_id] = Session(
            token, str(me.get("name")), role, str(city) if city else None, self._clock()
        )
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)
        return session_id

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = self._clock()
        if now - session.last_seen > self._idle_s:
            del self._sessions[session_id]
            return None
        session.last_seen = now
        self._sessions.move_to_end(session_id)
        return session

    def drop(self, session_id: str | None) -> None:
        if session_id:
            self._sessions.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._sessions)


class SignInThrottle:
    """Failed sign-ins per client address: past ``limit`` within ``window_s`` the sign-in form
    answers 429 without asking the API. Guessing tokens through the portal gets nowhere fast,
    and a guesser cannot spend the ingest's per-address budget that every portal user shares
    (the portal calls the API from one address)."""

    def __init__(
        self,
        limit: int = 10,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = 10_000,
    ) -> None:
        self._limit, self._window_s, self._clock = limit, window_s, clock
        self._max_addresses = max_addresses
        self._failures: OrderedDict[str, list[float]] = OrderedDict()

    def _recent(self, address: str) -> list[float]:
        since = self._clock() - self._window_s
        recent = [at for at in self._failures.get(address, []) if at > since]
        if recent:
            self._failures[address] = recent
        else:
            self._failures.pop(address, None)
        return recent

    def blocked(self, address: str) -> bool:
        return len(self._recent(address)) >= self._limit

    def failed(self, address: str) -> None:
        self._failures[address] = [*self._recent(address), self._clock()]
        self._failures.move_to_end(address)
        while len(self._failures) > self._max_addresses:
            self._failures.popitem(last=False)
