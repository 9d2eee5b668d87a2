"""v1 active alerts carried over to v2 records (shared/domain/alert_state_upgrade.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.domain.alert_lifecycle import ActiveAlert
from shared.domain.alert_state_upgrade import upgrade_active
from shared.domain.alerts import Alert

CST = timezone(timedelta(hours=8))
T0 = datetime(2024, 7, 15, 12, 0, tzinfo=CST)
TEXT = {"summary": "s", "description": "d"}


def at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


def record(
    labels: dict[str, str], starts: int = 0, notified: int = 4, absent: int | None = None
) -> ActiveAlert:
    return ActiveAlert(
        Alert(labels, TEXT), at(starts), at(notified), None if absent is None else at(absent)
    )


def by_fingerprint(*records: ActiveAlert) -> dict[str, ActiveAlert]:
    return {r.alert.fingerprint: r for r in records}


OVERDUE_V1 = {
    "alertname": "ReportOverdue",
    "severity": "warning",
    "program": "gigabit-2024",
    "city": "jinan",
    "kind": "gigabit",
}
OVERDUE_V2 = {k: v for k, v in OVERDUE_V1.items() if k != "program"}
BEHIND = {"alertname": "FiveGBehindPlan", "program": "5g-2025", "city": "jinan"}


def test_report_overdue_loses_its_program_and_keeps_its_times() -> None:
    upgraded = upgrade_active(by_fingerprint(record(OVERDUE_V1, starts=-100, notified=3)))
    assert upgraded == by_fingerprint(record(OVERDUE_V2, starts=-100, notified=3))


def test_two_v1_records_of_one_city_and_kind_merge_into_one() -> None:
    older = record(OVERDUE_V1 | {"program": "5g-2025", "kind": "5g-sites"}, -50, 2, absent=3)
    newer = record(OVERDUE_V1 | {"program": "5g-2027", "kind": "5g-sites"}, 3, 3)
    [merged] = upgrade_active(by_fingerprint(older, newer)).values()
    assert merged.alert.labels == OVERDUE_V2 | {"kind": "5g-sites"}
    assert (merged.starts_at, merged.last_notified_at, merged.absent_since) == (
        at(-50),
        at(3),
        None,
    )


def test_a_critical_without_its_warning_twin_gets_one_notified_when_it_was() -> None:
    critical = record(BEHIND | {"severity": "critical"}, starts=-10, notified=2, absent=3)
    upgraded = upgrade_active(by_fingerprint(critical))
    warning = record(BEHIND | {"severity": "warning"}, starts=-10, notified=2, absent=3)
    assert upgraded == by_fingerprint(critical, warning)


def test_only_the_alerts_v2_nests_get_a_twin_and_an_existing_twin_is_kept() -> None:
    missed = record({"alertname": "FiveGTargetMissed", "severity": "critical", "program": "p"})
    province = record(
        {"alertname": "FiveGProvinceBehindPlan", "severity": "critical", "program": "5g-2025"}
    )
    held_warning = record(BEHIND | {"severity": "warning"}, starts=-20, notified=-20, absent=1)
    critical = record(BEHIND | {"severity": "critical"}, starts=1, notified=1)
    upgraded = upgrade_active(by_fingerprint(missed, province, held_warning, critical))
    province_warning = record(province.alert.labels | {"severity": "warning"})
    assert upgraded == by_fingerprint(missed, province, province_warning, held_warning, critical)


def test_v2_records_are_left_as_they_are() -> None:
    v2 = by_fingerprint(
        record(OVERDUE_V2),
        record(BEHIND | {"severity": "warning"}),
        record(BEHIND | {"severity": "critical"}),
    )
    assert upgrade_active(v2) == v2
    assert upgrade_active(upgrade_active(v2)) == v2
