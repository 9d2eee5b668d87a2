"""One delivery per group (contract §3): grouping, the webhook body, the alerts-stream entries and
which deliveries an entry makes (services/alerting/delivery/plan.py), all pure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.alerting.delivery.plan import (
    delivery_id,
    entry_order,
    plan_notified,
    plan_subscribed,
)
from shared import names
from shared.domain.alert_lifecycle import ActiveAlert, Event, Notification, by_group
from shared.domain.alerts import Alert
from shared.wire_alerts import (
    GroupNotified,
    Subscription,
    SubscriptionCreated,
    SubscriptionFilters,
    decode_alerts_entry,
    encode_active,
    group_entry_fields,
    v1_notification_fields,
    webhook_body,
)
from shared.wire_deliveries import DeliveryRecord

T0 = datetime(2025, 3, 11, 0, 30, tzinfo=UTC)
URL = "https://pacer.example.test"


def behind(city: str, severity: str = "warning", program: str = "5g-2025") -> Alert:
    labels = {"alertname": "FiveGBehindPlan", "severity": severity, "program": program}
    return Alert(
        labels | {"city": city},
        {"summary": f"{city} is behind {program}", "description": "shortfall 300"},
    )


def overdue(city: str, kind: str = "gigabit") -> Alert:
    return Alert(
        {"alertname": "ReportOverdue", "severity": "warning", "city": city, "kind": kind},
        {"summary": f"{city}: {kind} report overdue", "description": "2025-02 missing"},
    )


def note(alert: Alert, event: Event = Event.FIRING) -> Notification:
    ends_at = T0 - timedelta(hours=1) if event is Event.RESOLVED else None
    return Notification(event, alert, T0 - timedelta(days=30), ends_at, T0)


def subscription(name: str, **options: Any) -> Subscription:
    return Subscription(
        id=f"sub_{name}",
        url="https://hooks.example.test/x",
        secret="s" * 20,
        created_at=T0,
        **options,
    )


def body_of(record: DeliveryRecord) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(record.body)
    return body


def summary(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(city, severity, status) of each alert of a webhook body."""
    return [(a["labels"]["city"], a["labels"]["severity"], a["status"]) for a in body["alerts"]]


# Groups ----------------------------------------------------------------------------------------


def test_notifications_group_by_alertname_and_program_and_keep_their_order() -> None:
    notifications = [
        note(behind("jinan")),
        note(overdue("jinan")),
        note(behind("heze", program="5g-2027")),
        note(behind("qingdao", "critical")),
        note(overdue("heze", "5g-sites"), Event.RESOLVED),
    ]
    groups = by_group(notifications)
    assert [[n.alert.labels["city"] for n in group] for group in groups] == [
        ["jinan", "qingdao"],  # FiveGBehindPlan 5g-2025, both severities
        ["heze"],  # FiveGBehindPlan 5g-2027
        ["jinan", "heze"],  # ReportOverdue has no program: one group across kinds
    ]


def test_twenty_changes_in_one_evaluation_make_one_entry_per_group() -> None:
    cities = [f"city-{n:02d}" for n in range(10)]
    notifications = [note(behind(c)) for c in cities] + [note(overdue(c)) for c in cities]
    groups = by_group(notifications)
    assert [len(g) for g in groups] == [10, 10]
    decoded = [decode_alerts_entry(group_entry_fields(g)) for g in groups]
    assert decoded == [GroupNotified(g) for g in groups]


# The webhook body ------------------------------------------------------------------------------


def test_a_body_carries_every_alert_of_its_group_with_what_they_share() -> None:
    alerts = [
        note(behind("jinan")),
        note(behind("jinan", "critical")),
        note(behind("qingdao"), Event.RESOLVED),
    ]
    body = webhook_body(alerts, receiver="sub_x", external_url=URL)
    assert body["version"] == "4"
    assert body["status"] == "firing"
    assert body["receiver"] == "sub_x"
    assert body["groupLabels"] == {"alertname": "FiveGBehindPlan", "program": "5g-2025"}
    assert body["groupKey"] == '{}:{alertname="FiveGBehindPlan", program="5g-2025"}'
    assert body["truncatedAlerts"] == 0
    assert body["commonLabels"] == {"alertname": "FiveGBehindPlan", "program": "5g-2025"}
    assert body["commonAnnotations"] == {"description": "shortfall 300"}
    assert body["externalURL"] == URL
    assert [
        (a["status"], a["labels"]["city"], a["labels"]["severity"]) for a in body["alerts"]
    ] == [
        ("firing", "jinan", "warning"),
        ("firing", "jinan", "critical"),
        ("resolved", "qingdao", "warning"),
    ]
    first, _, last = body["alerts"]
    assert first == {
        "status": "firing",
        "labels": alerts[0].alert.labels,
        "annotations": alerts[0].alert.annotations,
        "startsAt": (T0 - timedelta(days=30)).isoformat(),
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": f"{URL}/v1/alerts",
        "fingerprint": alerts[0].alert.fingerprint,
    }
    assert last["endsAt"] == (T0 - timedelta(hours=1)).isoformat()


def test_a_body_of_resolutions_only_is_resolved_and_one_alert_shares_everything() -> None:
    alert = overdue("jinan")
    body = webhook_body([note(alert, Event.RESOLVED)], receiver="sub_x", external_url=URL)
    assert body["status"] == "resolved"
    assert body["groupLabels"] == {"alertname": "ReportOverdue"}
    assert body["groupKey"] == '{}:{alertname="ReportOverdue"}'
    assert body["commonLabels"] == alert.labels
    assert body["commonAnnotations"] == alert.annotations


def test_a_repeat_is_sent_as_firing() -> None:
    body = webhook_body([note(behind("jinan"), Event.REPEAT)], receiver="s", external_url=URL)
    assert body["status"] == "firing"
    assert body["alerts"][0]["status"] == "firing"


# Alerts-stream entries -------------------------------------------------------------------------


def test_an_entry_written_before_grouping_reads_as_a_group_of_one() -> None:
    notification = note(behind("jinan"), Event.RESOLVED)
    assert decode_alerts_entry(v1_notification_fields(notification)) == GroupNotified(
        [notification]
    )


def test_a_creation_entry_reads_the_active_alerts_as_the_create_script_wrote_them() -> None:
    record = ActiveAlert(behind("jinan"), T0, T0)
    flat = json.dumps([record.alert.fingerprint, encode_active(record)]).replace("/", "\\/")
    fields = {
        "type": names.ALERTS_ENTRY_SUBSCRIBED,
        "subscription_id": "sub_x",
        "state_format": "2",
        "active": flat,
    }
    assert decode_alerts_entry(fields) == SubscriptionCreated(
        "sub_x", {record.alert.fingerprint: record}, "2"
    )
    empty = decode_alerts_entry(fields | {"active": "{}", "state_format": ""})  # cjson's []
    assert empty == SubscriptionCreated("sub_x", {}, "")


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "somethingelse"},
        {"type": names.ALERTS_ENTRY_NOTIFIED, "at": T0.isoformat(), "notifications": "[]"},
        {"type": names.ALERTS_ENTRY_NOTIFIED, "at": T0.isoformat(), "notifications": "[{}]"},
        {"type": names.ALERTS_ENTRY_SUBSCRIBED, "subscription_id": "s", "active": '["x"]'},
        {"event": "firing"},
    ],
    ids=["unknown type", "no notifications", "empty notification", "odd pairs", "v1 cut short"],
)
def test_a_malformed_entry_raises_what_the_fan_out_acknowledges(fields: dict[str, str]) -> None:
    with pytest.raises((KeyError, ValueError, TypeError)):
        decode_alerts_entry(fields)


# Deliveries of an evaluation's group -----------------------------------------------------------


def test_each_subscriber_gets_one_delivery_with_the_alerts_its_filters_want() -> None:
    entry = GroupNotified(
        [
            note(behind("jinan")),
            note(behind("jinan", "critical")),
            note(behind("qingdao"), Event.RESOLVED),
        ]
    )
    subscriptions = [
        subscription("all"),
        subscription("jinan", filters=SubscriptionFilters(cities=["jinan"])),
        subscription("critical", filters=SubscriptionFilters(severities=["critical"])),
        subscription("heze", filters=SubscriptionFilters(cities=["heze"])),
        subscription("quiet", filters=SubscriptionFilters(cities=["qingdao"]), send_resolved=False),
    ]
    planned = plan_notified(
        "1700000000000-0", entry, subscriptions, {}, external_url=URL, created_at=T0
    )
    got = {r.subscription_id: summary(body_of(r)) for r in planned}
    assert got == {
        "sub_all": [
            ("jinan", "warning", "firing"),
            ("jinan", "critical", "firing"),
            ("qingdao", "warning", "resolved"),
        ],
        "sub_jinan": [("jinan", "warning", "firing"), ("jinan", "critical", "firing")],
        "sub_critical": [("jinan", "critical", "firing")],
    }
    by_id = {r.subscription_id: r for r in planned}
    assert body_of(by_id["sub_critical"])["commonLabels"]["severity"] == "critical"
    assert by_id["sub_all"].public()["alerts"][2] == {
        "event": "resolved",
        "fingerprint": behind("qingdao").fingerprint,
        "alertname": "FiveGBehindPlan",
        "labels": behind("qingdao").labels,
    }
    assert by_id["sub_all"].reason == "notified"
    assert by_id["sub_all"].group == {"alertname": "FiveGBehindPlan", "program": "5g-2025"}
    assert by_id["sub_all"].id == delivery_id("1700000000000-0", "sub_all")
    assert len({r.id for r in planned}) == 3


def test_a_subscription_hears_only_of_entries_after_its_creation_entry() -> None:
    entry = GroupNotified([note(behind("jinan"))])
    subscriptions = [subscription("old"), subscription("new")]
    alerts_from = {"sub_new": "1700000000000-5"}

    def planned_for(entry_id: str) -> list[str]:
        records = plan_notified(
            entry_id, entry, subscriptions, alerts_from, external_url=URL, created_at=T0
        )
        return sorted(r.subscription_id for r in records)

    assert planned_for("1700000000000-4") == ["sub_old"]
    assert planned_for("1700000000000-5") == ["sub_old"]
    assert planned_for("1700000000000-6") == ["sub_new", "sub_old"]
    assert planned_for("999999999999-9") == ["sub_old"]  # ids compare as numbers, not text
    assert entry_order("1700000000000-12") > entry_order("1700000000000-9")


# Deliveries of a new subscription --------------------------------------------------------------


def snapshot(*records: ActiveAlert, state_format: str = "2") -> SubscriptionCreated:
    return SubscriptionCreated("sub_new", {r.alert.fingerprint: r for r in records}, state_format)


def test_a_new_subscription_gets_the_active_alerts_at_once_one_delivery_per_group() -> None:
    five = [ActiveAlert(behind(f"c{n}"), T0 - timedelta(days=n), T0) for n in range(5)]
    held = ActiveAlert(overdue("jinan"), T0, T0, absent_since=T0)  # in its resolve hold
    planned = plan_subscribed(
        "1700000000000-0",
        snapshot(*five, held),
        subscription("new"),
        external_url=URL,
        created_at=T0,
    )
    assert [len(body_of(r)["alerts"]) for r in planned] == [5, 1]
    assert all(body_of(r)["status"] == "firing" for r in planned)
    assert {r.reason for r in planned} == {"subscribed"}
    first = body_of(planned[0])
    assert {a["startsAt"] for a in first["alerts"]} == {r.starts_at.isoformat() for r in five}
    assert {a["status"] for a in first["alerts"]} == {"firing"}
    assert body_of(planned[1])["alerts"][0]["fingerprint"] == held.alert.fingerprint
    assert len({r.id for r in planned}) == 2


def test_a_new_subscription_gets_only_what_its_filters_want_and_nothing_once_deleted() -> None:
    records = [ActiveAlert(behind(c), T0, T0) for c in ("jinan", "qingdao")]
    wanting = subscription("new", filters=SubscriptionFilters(cities=["qingdao"]))
    [planned] = plan_subscribed("1-0", snapshot(*records), wanting, external_url=URL, created_at=T0)
    assert [a["labels"]["city"] for a in body_of(planned)["alerts"]] == ["qingdao"]
    heze = subscription("new", filters=SubscriptionFilters(cities=["heze"]))
    assert plan_subscribed("1-0", snapshot(*records), heze, external_url=URL, created_at=T0) == []
    assert plan_subscribed("1-0", snapshot(*records), None, external_url=URL, created_at=T0) == []


def test_active_alerts_read_before_the_upgrade_are_sent_as_v2_records() -> None:
    v1 = Alert(overdue("jinan").labels | {"program": "gigabit-2024"}, overdue("jinan").annotations)
    [planned] = plan_subscribed(
        "1-0",
        snapshot(ActiveAlert(v1, T0, T0), state_format=""),
        subscription("new"),
        external_url=URL,
        created_at=T0,
    )
    [alert] = body_of(planned)["alerts"]
    assert alert["fingerprint"] == overdue("jinan").fingerprint
    assert "program" not in alert["labels"]


# Delivery records ------------------------------------------------------------------------------


def test_a_delivery_recorded_before_grouping_still_reads_as_one_alert() -> None:
    fields = {
        "id": "d1",
        "subscription_id": "sub_x",
        "entry_id": "1-0",
        "event": "resolved",
        "fingerprint": "abc",
        "alertname": "ReportOverdue",
        "body": "{}",
        "status": "delivered",
        "attempts": "[]",
        "created_at": T0.isoformat(),
        "next_attempt_at": "",
        "error": "",
    }
    record = DeliveryRecord.from_hash(fields)
    public = record.public()
    assert public["event"] == "resolved"
    assert public["reason"] == "notified"
    assert public["group"] == {"alertname": "ReportOverdue"}
    assert public["alerts"] == [
        {
            "event": "resolved",
            "fingerprint": "abc",
            "alertname": "ReportOverdue",
            "labels": {"alertname": "ReportOverdue"},
        }
    ]


def test_a_delivery_record_survives_its_hash() -> None:
    [record] = plan_notified(
        "1-0",
        GroupNotified([note(behind("jinan")), note(behind("heze"), Event.REPEAT)]),
        [subscription("x")],
        {},
        external_url=URL,
        created_at=T0,
    )
    assert DeliveryRecord.from_hash(record.to_hash()) == record
