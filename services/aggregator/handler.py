"""Decodes one reports-stream entry and hands it to the applier; dead-letters what keeps failing."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter

from shared.clock import Clock
from shared.domain.targets import Targets
from shared.store.reports import Outcome
from shared.store.sites import SitesStoreUpgradingError
from shared.wire import ReportEnvelope

log = logging.getLogger("pacer.aggregator")


class UnknownCityError(ValueError):
    pass


class Applier(Protocol):
    """What the handler needs of the store (``shared.store.reports.apply.ReportApplier``)."""

    async def apply(self, envelope: ReportEnvelope, entry_id: str, now: datetime) -> Outcome: ...

    async def dead_letter(
        self, entry_id: str, fields: dict[str, str], reason: str, attempts: int
    ) -> str: ...

    async def remember_error(self, entry_id: str, error: str) -> None: ...

    async def sites_upgrading(self) -> bool:
        """Whether ``pacer migrate`` has yet to make the sites' layout live."""
        ...


@dataclass
class HandlerMetrics:
    outcomes: Counter

    @classmethod
    def register(cls, registry: CollectorRegistry) -> HandlerMetrics:
        return cls(
            Counter(
                "pacer_aggregator_reports",
                "Reports-stream entries handled, by outcome.",
                ["outcome"],
                registry=registry,
            )
        )


@dataclass
class ReportHandler:
    applier: Applier
    targets: Targets
    clock: Clock
    max_attempts: int
    metrics: HandlerMetrics

    async def handle(
        self, entry_id: str, fields: dict[str, str], delivery_count: Callable[[], Awaitable[int]]
    ) -> Outcome | None:
        """Apply the entry. Raises to leave it pending (the reclaimer retries it later).

        After ``max_attempts`` deliveries it goes to the dead-letter stream instead.
        """
        attempts = await delivery_count()
        if attempts > self.max_attempts and await self.applier.sites_upgrading():
            # Its attempts were spent waiting for ``pacer migrate``, not failing: not a dead letter.
            raise SitesStoreUpgradingError("the sites are being migrated (pacer migrate)")
        if attempts > self.max_attempts:
            reason = f"could not be applied in {attempts - 1} attempts"
            await self.applier.dead_letter(entry_id, fields, reason, attempts - 1)
            self.metrics.outcomes.labels("dead_lettered").inc()
            log.error("dead-lettered entry %s (report %s)", entry_id, fields.get("report_id"))
            return None
        try:
            envelope = ReportEnvelope.from_fields(fields)
            if envelope.city not in self.targets.cities:
                raise UnknownCityError(f"unknown city {envelope.city!r}")
            outcome = await self.applier.apply(envelope, entry_id, self.clock.now())
        except Exception as exc:
            self.metrics.outcomes.labels("failed").inc()
            log.warning("entry %s failed (attempt %d): %r", entry_id, attempts, exc)
            with contextlib.suppress(Exception):  # best effort: Redis itself may be what failed
                await self.applier.remember_error(entry_id, f"{type(exc).__name__}: {exc}")
            raise
        self.metrics.outcomes.labels(outcome.result).inc()
        if outcome.result == "applied":
            log.info(
                "applied %s report: %d created, %d updated, %d unchanged",
                envelope.kind,
                outcome.created,
                outcome.updated,
                outcome.unchanged,
            )
        if outcome.result == "rejected":
            log.warning(
                "rejected report %s of %s: %d errors (see its record)",
                envelope.report_id,
                envelope.city,
                outcome.errors,
            )
        return outcome
