"""A small client of Pacer's HTTP API for the command-line tools (submit, status, demo).

Retries what is safe to retry: a 503 (Pacer's store unavailable), a 429, a timeout or a refused
connection, with exponential backoff and jitter. Report submissions are idempotent by report id,
so a retry after a lost answer stores nothing twice.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

RETRYABLE_STATUS = {429, 502, 503, 504}


class ApiUnavailableError(RuntimeError):
    """Pacer did not answer usefully within the retry budget."""


@dataclass
class PacerClient:
    base_url: str
    token: str
    timeout_s: float = 30.0
    max_wait_s: float = 120.0
    """Give up retrying after this long in total."""
    sleep: Callable[[float], None] = time.sleep
    on_retry: Callable[[str, float], None] | None = None
    """Told (what failed, seconds until the next try) before each retry, e.g. to show it."""
    _http: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._http = httpx.Client(
            base_url=self.base_url.rstrip("/"),
            timeout=self.timeout_s,
            headers={"Authorization": f"Bearer {self.token}", "User-Agent": "pacer-cli"},
        )

    @classmethod
    def from_env(cls, base_url: str | None = None, token: str | None = None) -> PacerClient:
        """``--server``/``--token`` if given, else ``PACER_API_URL``/``PACER_TOKEN``."""
        url = base_url or os.environ.get("PACER_API_URL", "http://127.0.0.1:8000")
        secret = token or os.environ.get("PACER_TOKEN")
        if not secret:
            raise SystemExit("no token: pass --token or set PACER_TOKEN")
        return cls(url, secret)

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The response (any status but the retryable ones), retrying those and network errors."""
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(method, path, **kwargs)
                if response.status_code not in RETRYABLE_STATUS:
                    return response
                problem = f"HTTP {response.status_code}"
                hinted = response.headers.get("Retry-After", "")
                delay = float(hinted) if hinted.replace(".", "", 1).isdigit() else None
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                problem, delay = f"{type(exc).__name__}", None
            if delay is None:
                delay = min(10.0, 0.25 * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
            if waited + delay > self.max_wait_s:
                raise ApiUnavailableError(
                    f"{method} {path}: gave up after {attempt} tries ({problem})"
                )
            if self.on_retry is not None:
                self.on_retry(f"{method} {path}: {problem}", delay)
            self.sleep(delay)
            waited += delay

    def get_json(self, path: str, **kwargs: Any) -> Any:
        response = self.request("GET", path, **kwargs)
        response.raise_for_status()
        return response.json()
