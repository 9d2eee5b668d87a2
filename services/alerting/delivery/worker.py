"""Sends due deliveries, each in its own task, so a slow or dead subscriber delays no other."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from prometheus_client import CollectorRegistry

from services.alerting.delivery.backoff import RetryPolicy
from services.alerting.delivery.metrics import DeliveryMetrics
from services.alerting.delivery.signing import signed_headers
from shared.clock import wall_time
from shared.dns import ResolutionError, resolve
from shared.settings import Settings
from shared.store.client import StoreClient
from shared.store.deliveries import Claimed, Deliveries
from shared.store.replication import ReplicaQuorum
from shared.store.subscriptions import SubscriptionStore
from shared.webhook_policy import AllowList, literal_address, refusal
from shared.wire_alerts import Subscription
from shared.wire_deliveries import Attempt

log = logging.getLogger("pacer.alerting.delivery")

LEASE_MARGIN_S = 30.0
"""A claimed delivery is due again this long after its attempt's timeout (the sender died)."""
RETENTION_S = 30 * 24 * 3600
"""How long a delivered or dead delivery stays readable in the deliveries listing."""


class DeliveryWorker:
    """Polls the due deliveries; ``run()`` until ``stop()`` (then in-flight attempts finish)."""

    def __init__(
        self,
        redis: StoreClient,
        http: httpx.AsyncClient,
        settings: Settings,
        *,
        registry: CollectorRegistry,
        concurrency: int = 32,
        poll_interval_s: float = 0.2,
        wall_clock: Callable[[], float] = wall_time,
        jitter: Callable[[], float] = lambda: random.uniform(0.5, 1.0),
    ) -> None:
        self._subscriptions = SubscriptionStore(redis)
        self._store = Deliveries(
            redis,
            RETENTION_S,
            ReplicaQuorum.for_client(settings.redis_min_replicas, settings.redis_timeout_s),
        )
        self._http = http
        self._timeout_s = settings.delivery_timeout_s
        self._allowed = settings.webhook_allow_list
        self._policy = RetryPolicy(
            settings.delivery_max_attempts,
            settings.delivery_backoff_s,
            settings.delivery_backoff_max_s,
        )
        self._metrics = DeliveryMetrics.register(registry)
        self._concurrency = concurrency
        self._poll_interval_s = poll_interval_s
        self._clock = wall_clock
        self._jitter = jitter
        self._stopping = asyncio.Event()
        self._woken = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """New deliveries are due now: claim them without waiting out the poll interval.

        The fan-out in this process calls it; deliveries another instance created (or retries
        coming due) are still found by polling."""
        self._woken.set()

    def stop(self) -> None:
        """Claim nothing more; ``run()`` returns once the attempts in flight are done."""
        self._stopping.set()

    async def run(self) -> None:
        try:
            while not self._stopping.is_set():
                free = self._concurrency - len(self._in_flight)
                if free <= 0:
                    await asyncio.wait(
                        self._in_flight,
                        timeout=self._poll_interval_s,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    continue
                try:
                    now = self._clock()
                    claimed = await self._store.claim(
                        now, now + self._timeout_s + LEASE_MARGIN_S, free
                    )
                except Exception as exc:  # Redis down: try again shortly
                    log.warning("claiming due deliveries failed: %r", exc)
                    await self._pause(1.0)
                    continue
                for delivery_id in claimed:
                    task = asyncio.create_task(self._attempt(delivery_id))
                    self._in_flight.add(task)
                    task.add_done_callback(self._in_flight.discard)
                if len(claimed) < free:
                    await self._pause(self._poll_interval_s, wake_early=True)
            if self._in_flight:
                await asyncio.wait(self._in_flight, timeout=self._timeout_s + 1)
        finally:
            # Cancelled (or the grace ran out): whatever is unfinished is retried after its lease.
            for task in list(self._in_flight):
                task.cancel()

    async def _pause(self, seconds: float, *, wake_early: bool = False) -> None:
        """Wait ``seconds``, or less if stopping (or, with ``wake_early``, if woken)."""
        waits = [asyncio.ensure_future(self._stopping.wait())]
        if wake_early:
            waits.append(asyncio.ensure_future(self._woken.wait()))
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
            self._woken.clear()

    async def _attempt(self, delivery_id: str) -> None:
        try:
            claimed = await self._store.load(delivery_id)
            if claimed is None or claimed.record.status != "pending":
                await self._store.forget(delivery_id)
                return
            subscription = await self._subscriptions.get(claimed.record.subscription_id)
            if subscription is None:
                await self._store.record(
                    claimed, claimed.record.attempts, "dead", error="subscription deleted"
                )
                log.info("delivery %s dropped: its subscription was deleted", delivery_id)
                return
            attempt = await self._post(claimed, subscription)
            if isinstance(attempt, _Refused):
                await self._refuse(claimed, attempt)
                return
            if self._stopping.is_set() and attempt.error is not None:
                return  # likely the shutdown itself (client closed): retried after the lease
            await self._conclude(claimed, attempt)
        except Exception as exc:  # Redis down mid-way: the lease ends and it is retried
            log.warning("delivery %s: attempt not recorded: %r", delivery_id, exc)

    async def _post(self, claimed: Claimed, subscription: Subscription) -> Attempt | _Refused:
        record = claimed.record
        body = record.body.encode()
        sent_at = self._clock()  # the wall clock the receiver compares the timestamp with
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "pacer",
            **signed_headers(subscription.secret, record.id, int(sent_at), body),
        }
        at = datetime.fromtimestamp(sent_at, UTC)
        started = time.monotonic()
        status_code: int | None = None
        error: str | None = None
        url = httpx.URL(str(subscription.url))
        sent_to = url
        try:
            # One deadline for the whole exchange: httpx's timeouts are per phase, and a
            # receiver trickling bytes would never trip them.
            async with asyncio.timeout(self._timeout_s):
                target = await _vetted_target(url, self._allowed)
                if isinstance(target, _Refused):
                    return target
                sent_to, pinned_headers = target
                request = self._http.build_request(
                    "POST", sent_to, content=body, headers=headers | pinned_headers
                )
                # A redirect is a failure, never followed: it could point anywhere, the
                # internal network included.
                response = await self._http.send(request, stream=True, follow_redirects=False)
                status_code = response.status_code
                await response.aclose()  # the receiver's body is of no interest
        except (TimeoutError, httpx.TimeoutException):
            error = "timeout"
        except ResolutionError as exc:
            error = str(exc)
        except httpx.HTTPError as exc:
            error = _describe(exc, str(subscription.url)).replace(str(sent_to), "<url>")
        elapsed = time.monotonic() - started
        self._metrics.seconds.observe(elapsed)
        return Attempt(
            at=at, status_code=status_code, error=error, duration_ms=round(elapsed * 1000)
        )

    async def _refuse(self, claimed: Claimed, refused: _Refused) -> None:
        record = claimed.record
        at = datetime.fromtimestamp(self._clock(), UTC)
        attempt = Attempt(at=at, error=f"refused: {refused.reason}", duration_ms=0)
        error = f"refused, nothing sent: {refused.reason}"
        if await self._store.record(claimed, [*record.attempts, attempt], "dead", error=error):
            self._metrics.outcomes.labels("dead").inc()
            log.warning(
                "delivery %s (subscription %s) dead-lettered: %s",
                record.id,
                record.subscription_id,
                error,
            )

    async def _conclude(self, claimed: Claimed, attempt: Attempt) -> None:
        record = claimed.record
        attempts = [*record.attempts, attempt]
        what = f"delivery {record.id} (subscription {record.subscription_id})"
        if attempt.status_code is not None and 200 <= attempt.status_code < 300:
            if await self._store.record(claimed, attempts, "delivered"):
                self._metrics.outcomes.labels("delivered").inc()
                log.info("%s delivered on attempt %d", what, len(attempts))
            return
        failure = attempt.error or f"HTTP {attempt.status_code}"
        if self._policy.gives_up_after(len(attempts)):
            error = f"gave up after {len(attempts)} attempts (last: {failure})"
            if await self._store.record(claimed, attempts, "dead", error=error):
                self._metrics.outcomes.labels("dead").inc()
                log.warning("%s dead-lettered: %s", what, error)
            return
        retry_at = self._clock() + self._policy.delay(len(attempts), self._jitter())
        if await self._store.record(claimed, attempts, "pending", next_attempt_at=retry_at):
            self._metrics.outcomes.labels("retried").inc()
            log.info("%s attempt %d failed (%s): retrying", what, len(attempts), failure)


@dataclass(frozen=True)
class _Refused:
    """The destination is internal and not allowed: no request is made, ever."""

    reason: str


async def _vetted_target(
    url: httpx.URL, allowed: AllowList
) -> tuple[httpx.URL, dict[str, str]] | _Refused:
    """Resolve the URL's host and judge every address it has now. Plain HTTP is then sent to the
    judged address, the name kept in ``Host``: httpx resolving again could get another answer
    (DNS rebinding). HTTPS goes by name: an internal server cannot present a certificate for it,
    and pinning would let the connection pool share one TLS session between names on an IP."""
    host = url.host
    if literal_address(host) is not None:
        reason = refusal(host, [host], allowed)
        return _Refused(reason) if reason else (url, {})
    if allowed.allows_host(host):
        return url, {}
    addresses = await resolve(host, url.port or (443 if url.scheme == "https" else 80))
    reason = refusal(host, addresses, allowed)
    if reason:
        return _Refused(reason)
    if url.scheme == "https":
        return url, {}
    return url.copy_with(host=addresses[0]), {"Host": url.netloc.decode("ascii")}


def _describe(exc: httpx.HTTPError, url: str) -> str:
    """The error without the URL, which may carry credentials."""
    detail = str(exc).replace(url, "<url>") or "no detail"
    return f"{type(exc).__name__}: {detail}"[:300]
