"""The aggregator's own decisions, on a fake applier: what is applied, what stays pending for a
retry, what is dead-lettered after too many attempts, and how stream ids order versions. The
apply rules themselves run in Redis (the store families' Lua) and are tested there."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry

from services.aggregator.handler import HandlerMetrics, ReportHandler, UnknownCityError
from shared.clock import fixed_clock
from shared.domain.state import ReportKind
from shared.store.reports import Outcome, entry_version
from shared.store.sites import SitesStoreUpgradingError
from shared.targets import load_targets
from shared.wire import ReportEnvelope

NOW = datetime(2024, 7, 2, 4, 0, tzinfo=UTC)


@dataclass
class FakeApplier:
    outcome: Outcome = field(default_factory=lambda: Outcome("applied", created=2))
    failure: Exception | None = None
    applied: list[tuple[str, str, datetime]] = field(default_factory=list)
    dead: list[tuple[str, str, int]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    upgrading: bool = False

    async def apply(self, envelope: ReportEnvelope, entry_id: str, now: datetime) -> Outcome:
        if self.failure:
            raise self.failure
        self.applied.append((envelope.report_id, entry_id, now))
        return self.outcome

    async def dead_letter(
        self, entry_id: str, fields: dict[str, str], reason: str, attempts: int
    ) -> str:
        self.dead.append((entry_id, reason, attempts))
        return "dead"

    async def remember_error(self, entry_id: str, error: str) -> None:
        self.errors[entry_id] = error

    async def sites_upgrading(self) -> bool:
        return self.upgrading


def handler(applier: FakeApplier, registry: CollectorRegistry | None = None) -> ReportHandler:
    return ReportHandler(
        applier,
        load_targets(),
        fixed_clock(NOW),
        max_attempts=3,
        metrics=HandlerMetrics.register(registry or CollectorRegistry()),
    )


def entry(city: str = "jinan") -> dict[str, str]:
    envelope = ReportEnvelope("jinan-2024-06", city, ReportKind.SITES, NOW, '{"sites":[]}')
    return envelope.fields()


def delivered(times: int) -> Callable[[], Awaitable[int]]:
    """The entry's delivery count, as the stream's pending list tells it."""

    async def count() -> int:
        return times

    return count


async def test_an_entry_is_applied_at_the_clocks_now_and_counted() -> None:
    applier, registry = FakeApplier(), CollectorRegistry()
    outcome = await handler(applier, registry).handle("1-0", entry(), delivered(1))
    assert outcome == Outcome("applied", created=2)
    assert applier.applied == [("jinan-2024-06", "1-0", NOW)]
    assert registry.get_sample_value("pacer_aggregator_reports_total", {"outcome": "applied"}) == 1


async def test_a_failing_entry_raises_to_stay_pending_and_its_error_is_kept_for_the_reason() -> (
    None
):
    applier = FakeApplier(failure=ConnectionError("Redis restarting"))
    with pytest.raises(ConnectionError):
        await handler(applier).handle("1-0", entry(), delivered(2))
    assert applier.errors == {"1-0": "ConnectionError: Redis restarting"}
    assert applier.dead == []


async def test_an_unknown_city_fails_like_any_entry_that_cannot_be_applied() -> None:
    applier = FakeApplier()
    with pytest.raises(UnknownCityError):
        await handler(applier).handle("1-0", entry(city="atlantis"), delivered(1))
    assert applier.applied == [] and "atlantis" in applier.errors["1-0"]


async def test_past_the_attempts_an_entry_is_dead_lettered_not_applied() -> None:
    applier, registry = FakeApplier(), CollectorRegistry()
    assert await handler(applier, registry).handle("1-0", entry(), delivered(4)) is None
    assert applier.dead == [("1-0", "could not be applied in 3 attempts", 3)]
    assert applier.applied == []
    labels = {"outcome": "dead_lettered"}
    assert registry.get_sample_value("pacer_aggregator_reports_total", labels) == 1


async def test_past_the_attempts_while_the_sites_migrate_an_entry_stays_pending() -> None:
    applier = FakeApplier(upgrading=True)
    with pytest.raises(SitesStoreUpgradingError):
        await handler(applier).handle("1-0", entry(), delivered(9))
    assert applier.dead == [] and applier.applied == []


async def test_the_last_allowed_attempt_is_still_applied() -> None:
    applier = FakeApplier()
    await handler(applier).handle("1-0", entry(), delivered(3))
    assert len(applier.applied) == 1 and applier.dead == []


def test_versions_order_by_as_of_then_by_arrival_as_strings() -> None:
    # Lua compares versions as strings: the fixed width makes that the numeric order.
    early_id, late_id = "999-5", "1000-0"
    assert entry_version("2024-06-30", early_id) < entry_version("2024-06-30", late_id)
    assert entry_version("2024-07-01", early_id) > entry_version("2024-06-30", late_id)
    assert entry_version("2024-06-30", "1000-2") < entry_version("2024-06-30", "1000-10")
