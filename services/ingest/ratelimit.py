"""Per-caller rate limits: a token bucket per API token (by its name), or per client address for
requests without a valid token.

The buckets live in the process: the limit is per ingest instance (N replicas admit up to N times
the rate), and the hot path makes no Redis round trip. ``/healthz``, ``/readyz`` and ``/metrics``
are never limited: probes and scrapes must not be throttled into a restart.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter
from starlette.responses import Response
from starlette.types import Scope

from services.ingest.auth import Principal, TokenBook
from services.ingest.errors import ApiError, ErrorItem, error_response

UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_EPSILON = 1e-9
"""Refill arithmetic in floats: a request exactly one period after the last finds 0.9999999."""
UNAUTHENTICATED = "unauthenticated"
"""The metric label of requests without a valid token (keyed by address, never labelled so)."""


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: float = 0.0
    """When refused: seconds until one request is allowed again."""

    @property
    def retry_after_header(self) -> str:
        """``Retry-After`` takes whole seconds; never 0, which clients read as "retry at once"."""
        return str(max(1, math.ceil(self.retry_after_s)))


class TokenBuckets:
    """``rate`` requests per second sustained, ``burst`` at once, per key. Pure: takes ``now``."""

    def __init__(self, rate: float, burst: int, max_keys: int = 10_000) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str, now: float) -> Decision:
        """Spend one token of ``key``'s bucket if it has one."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            if len(self._buckets) > self.max_keys:
                self.prune(now)
        else:
            elapsed = max(0.0, now - bucket.updated)  # a clock step back refills nothing
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
            bucket.updated = max(bucket.updated, now)
        if bucket.tokens >= 1.0 - _EPSILON:
            bucket.tokens = max(0.0, bucket.tokens - 1.0)
            return Decision(True)
        return Decision(False, (1.0 - bucket.tokens) / self.rate)

    def prune(self, now: float) -> None:
        """Forget full buckets (a new one starts full: nothing changes for their callers); if many
        keys are still busy (addresses of a flood), forget the oldest: that can only be lenient."""
        full_after = self.burst / self.rate
        for key in [k for k, b in self._buckets.items() if now - b.updated >= full_after]:
            del self._buckets[key]
        excess = len(self._buckets) - self.max_keys * 9 // 10
        for key in list(self._buckets)[: max(0, excess)]:
            del self._buckets[key]


@dataclass(frozen=True)
class Caller:
    key: str
    label: str
    principal: Principal | None = None
    """A valid token's holder: the request needs no second authentication."""


def caller_identity(tokens: TokenBook) -> Callable[[Scope], Caller]:
    """A valid token's holder by name; anyone else by client address (slows token guessing)."""

    def identify(scope: Scope) -> Caller:
        authorization = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        if authorization is not None:
            try:
                who = tokens.authenticate(authorization)
            except ApiError:
                pass
            else:
                return Caller(f"token:{who.name}", who.name, who)
        client = scope.get("client")
        return Caller(f"address:{client[0] if client else '?'}", UNAUTHENTICATED)

    return identify


class RateLimitMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.limited = Counter(
            "pacer_http_rate_limited_requests",
            "Requests answered 429 by the per-token rate limit, by token name "
            f'("{UNAUTHENTICATED}": no valid token, limited per client address).',
            ["caller"],
            registry=registry,
        )


class RateLimiter:
    """Admits a request or answers 429 (the gateway, ``services.ingest.gateway``, asks it)."""

    def __init__(
        self,
        buckets: TokenBuckets,
        identify: Callable[[Scope], Caller],
        metrics: RateLimitMetrics,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.buckets = buckets
        self.identify = identify
        self.metrics = metrics
        self.monotonic = monotonic

    @staticmethod
    def applies_to(scope: Scope) -> bool:
        return scope["path"] not in UNLIMITED_PATHS

    def refusal(self, caller: Caller) -> Response | None:
        """Spends one of ``caller``'s tokens; if there is none, the 429 to answer."""
        decision = self.buckets.take(caller.key, self.monotonic())
        if decision.allowed:
            return None
        self.metrics.limited.labels(caller.label).inc()
        message = (
            f"more than {self.buckets.burst} requests at once or {self.buckets.rate:g} per second "
            f"for this caller; retry after {decision.retry_after_header} s"
        )
        return error_response(
            429,
            [ErrorItem([], "rate_limited", message)],
            headers={"Retry-After": decision.retry_after_header},
        )
