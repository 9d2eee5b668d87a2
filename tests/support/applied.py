"""Reports written into Redis as the aggregator writes them, each received when the test says.

The entry goes on the reports stream, is delivered to the aggregator's group and applied by
``ReportApplier`` (the aggregator's own code), so the stored state is the real one; only the
received instant is the test's, which makes a report late or on time without waiting for days.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, datetime

from shared import names
from shared.domain.state import ReportKind
from shared.store.connection import connect
from shared.store.groups import ensure_groups
from shared.store.reports import ReportApplier
from shared.wire import (
    GigabitReport,
    ReportEnvelope,
    Site,
    SitesReport,
    SiteStatus,
    encode_payload,
)


def site(site_id: str, commissioned_on: str, status: SiteStatus = "in_service") -> Site:
    return Site(
        site_id=site_id,
        operator="china_mobile",
        status=status,
        commissioned_on=date.fromisoformat(commissioned_on),
        lat=36.65,
        lon=117.12,
    )


def sites_envelope(
    report_id: str, city: str, *, period: str, as_of: str, received: str, sites: Sequence[Site]
) -> ReportEnvelope:
    report = SitesReport(
        report_id=report_id, period=period, as_of=date.fromisoformat(as_of), sites=list(sites)
    )
    return ReportEnvelope(
        report_id,
        city,
        ReportKind.SITES,
        datetime.fromisoformat(received),
        encode_payload(report),
    )


def gigabit_envelope(
    report_id: str,
    city: str,
    *,
    period: str,
    as_of: str,
    received: str,
    indicators: dict[str, float],
) -> ReportEnvelope:
    report = GigabitReport(
        report_id=report_id, period=period, as_of=date.fromisoformat(as_of), indicators=indicators
    )
    return ReportEnvelope(
        report_id,
        city,
        ReportKind.GIGABIT,
        datetime.fromisoformat(received),
        encode_payload(report),
    )


async def _apply_all(redis_url: str, envelopes: Sequence[ReportEnvelope], now: datetime) -> None:
    client = connect(redis_url)
    try:
        await ensure_groups(client)
        applier = ReportApplier(client)
        for envelope in envelopes:  # in this order: the order of arrival
            entry_id = str(await client.xadd(names.REPORTS_STREAM, envelope.fields()))  # type: ignore[arg-type]
            await client.xreadgroup(
                names.AGGREGATOR_GROUP, "test-consumer", {names.REPORTS_STREAM: ">"}, count=1
            )
            outcome = await applier.apply(envelope, entry_id, now)
            assert outcome.result == "applied", (envelope.report_id, outcome)
    finally:
        await client.aclose()


def apply_reports(redis_url: str, envelopes: Sequence[ReportEnvelope], now: datetime) -> None:
    """Applies ``envelopes`` in order, each as received at its own instant."""
    asyncio.run(_apply_all(redis_url, envelopes, now))
