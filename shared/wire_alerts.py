"""Wire formats of alerts: active-alert records, notification entries, subscriptions, webhooks.

The one place that knows how an alert looks in Redis, on the alerts stream, in ``GET /v1/alerts``,
in an Alertmanager webhook v4 body and in Alertmanager's ``/api/v2/alerts``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    UrlConstraints,
)
from pydantic_core import PydanticCustomError

from shared import names
from shared.domain.alert_lifecycle import ActiveAlert, Event, Notification, group_labels
from shared.domain.alerts import Alert, Severity
from shared.webhook_policy import literal_address
from shared.wire import SafeText

# Active alerts (hash names.ACTIVE_ALERTS_KEY) ---------------------------------------------------


def encode_active(record: ActiveAlert) -> str:
    return json.dumps(
        {
            "labels": record.alert.labels,
            "annotations": record.alert.annotations,
            "starts_at": record.starts_at.isoformat(),
            "last_notified_at": record.last_notified_at.isoformat(),
            "absent_since": record.absent_since.isoformat() if record.absent_since else None,
        },
        sort_keys=True,
        ensure_ascii=False,
    )


def decode_active(raw: str) -> ActiveAlert:
    doc = json.loads(raw)
    return ActiveAlert(
        alert=Alert(labels=doc["labels"], annotations=doc["annotations"]),
        starts_at=datetime.fromisoformat(doc["starts_at"]),
        last_notified_at=datetime.fromisoformat(doc["last_notified_at"]),
        absent_since=datetime.fromisoformat(doc["absent_since"]) if doc["absent_since"] else None,
    )


def api_alert(record: ActiveAlert) -> dict[str, Any]:
    """One item of ``GET /v1/alerts``: Alertmanager-like."""
    return {
        "labels": record.alert.labels,
        "annotations": record.alert.annotations,
        "state": "active",
        "startsAt": record.starts_at.isoformat(),
        "fingerprint": record.alert.fingerprint,
    }


# Alerts-stream entries (stream names.ALERTS_STREAM) ---------------------------------------------
#
# Three kinds of entry, told apart by ``type``:
# - ``names.ALERTS_ENTRY_NOTIFIED``: one group's notifications from one evaluation (the evaluator);
# - ``names.ALERTS_ENTRY_SUBSCRIBED``: a subscription was created, with the active alerts of that
#   instant (the subscriptions family's create script, ``shared/store/subscriptions.py``);
# - no ``type``: one notification, as evaluators wrote before grouping; still delivered.


@dataclass(frozen=True)
class GroupNotified:
    """One group's notifications from one evaluation: one delivery per subscriber wanting any."""

    notifications: list[Notification]


@dataclass(frozen=True)
class SubscriptionCreated:
    """A new subscription and the active alerts when it was created: it receives them at once."""

    subscription_id: str
    active: dict[str, ActiveAlert]
    state_format: str
    """The active alerts' format (``shared.domain.alert_state_upgrade``); empty for v1."""


AlertsEntry = GroupNotified | SubscriptionCreated

TYPE_FIELD = "type"
SUBSCRIPTION_FIELD = "subscription_id"
STATE_FORMAT_FIELD = "state_format"
ACTIVE_FIELD = "active"
"""The active-alerts hash as the create script read it: a JSON array of fingerprint, record,
fingerprint, record... (Lua's cjson writes ``{}`` for an empty one)."""


def group_entry_fields(notifications: list[Notification]) -> dict[str, str]:
    """The entry for one group's notifications (all of one evaluation and one group)."""
    first = notifications[0]
    return {
        TYPE_FIELD: names.ALERTS_ENTRY_NOTIFIED,
        "group": _json(group_labels(first.alert)),
        "at": first.at.isoformat(),
        "notifications": _json([_notification_doc(n) for n in notifications]),
    }


def decode_alerts_entry(fields: dict[str, str]) -> AlertsEntry:
    """Raises KeyError, ValueError or TypeError on an entry no retry can make readable."""
    kind = fields.get(TYPE_FIELD)
    if kind is None:
        return GroupNotified([v1_notification_from_fields(fields)])
    if kind == names.ALERTS_ENTRY_NOTIFIED:
        at = datetime.fromisoformat(fields["at"])
        docs = json.loads(fields["notifications"])
        if not isinstance(docs, list) or not docs:
            raise ValueError("an entry of notifications without any")
        return GroupNotified([_notification_from_doc(doc, at) for doc in docs])
    if kind == names.ALERTS_ENTRY_SUBSCRIBED:
        flat = json.loads(fields[ACTIVE_FIELD])
        pairs = list(flat) if isinstance(flat, list) else []  # cjson: an empty array is {}
        active = {
            str(fp): decode_active(str(doc))
            for fp, doc in zip(pairs[::2], pairs[1::2], strict=True)
        }
        return SubscriptionCreated(
            fields[SUBSCRIPTION_FIELD], active, fields.get(STATE_FORMAT_FIELD, "")
        )
    raise ValueError(f"unknown alerts entry type {kind!r}")


def _notification_doc(notification: Notification) -> dict[str, Any]:
    return {
        "event": str(notification.event),
        "labels": notification.alert.labels,
        "annotations": notification.alert.annotations,
        "starts_at": notification.starts_at.isoformat(),
        "ends_at": notification.ends_at.isoformat() if notification.ends_at else None,
    }


def _notification_from_doc(doc: dict[str, Any], at: datetime) -> Notification:
    return Notification(
        event=Event(doc["event"]),
        alert=Alert(labels=dict(doc["labels"]), annotations=dict(doc["annotations"])),
        starts_at=datetime.fromisoformat(doc["starts_at"]),
        ends_at=datetime.fromisoformat(doc["ends_at"]) if doc["ends_at"] else None,
        at=at,
    )


def v1_notification_fields(notification: Notification) -> dict[str, str]:
    """One notification as its own entry: what evaluators wrote before grouping (no longer
    written; an upgrade may find such entries on the stream)."""
    return {
        "event": str(notification.event),
        "fingerprint": notification.alert.fingerprint,
        "labels": _json(notification.alert.labels),
        "annotations": _json(notification.alert.annotations),
        "starts_at": notification.starts_at.isoformat(),
        "ends_at": notification.ends_at.isoformat() if notification.ends_at else "",
        "at": notification.at.isoformat(),
    }


def v1_notification_from_fields(fields: dict[str, str]) -> Notification:
    return Notification(
        event=Event(fields["event"]),
        alert=Alert(
            labels=json.loads(fields["labels"]), annotations=json.loads(fields["annotations"])
        ),
        starts_at=datetime.fromisoformat(fields["starts_at"]),
        ends_at=datetime.fromisoformat(fields["ends_at"]) if fields["ends_at"] else None,
        at=datetime.fromisoformat(fields["at"]),
    )


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


# Subscriptions ----------------------------------------------------------------------------------

MAX_URL_LENGTH = 2048


def _stored_length_fits(url: AnyHttpUrl) -> AnyHttpUrl:
    # The limit applies to the input; normalising can lengthen it (a "/" path, escapes), and a
    # stored URL over the limit would fail to load again, breaking every read of subscriptions.
    if len(str(url)) > MAX_URL_LENGTH:
        raise PydanticCustomError(
            "url_too_long",
            "URL should have at most {max_length} characters once normalised",
            {"max_length": MAX_URL_LENGTH},
        )
    return url


def _resolvable_host(url: AnyHttpUrl) -> AnyHttpUrl:
    """A host name DNS can carry: labels of 1 to 63 characters, 253 in all (RFC 1035). The URL
    parser accepts ``a..b`` and 64-letter labels, which the resolver's IDNA codec then refused
    with a UnicodeError (a plain-text 500)."""
    host = url.host or ""
    if literal_address(host) is not None:
        return url
    name = host[:-1] if host.endswith(".") else host
    labels = name.split(".")
    if len(name) > 253 or not all(1 <= len(label) <= 63 for label in labels):
        raise PydanticCustomError(
            "invalid_host",
            "{host} is not a host name: each dot-separated label must have 1 to 63 characters, "
            "and the name at most 253",
            {"host": host},
        )
    return url


WebhookUrl = Annotated[
    AnyHttpUrl,
    UrlConstraints(allowed_schemes=["http", "https"], max_length=MAX_URL_LENGTH),
    AfterValidator(_stored_length_fits),
    AfterValidator(_resolvable_host),
]
MAX_FILTER_VALUES = 64
"""Values per filter list: far more than there are cities, programmes or severities, and a bound
on the errors an unknown value each makes."""
FilterValue = Annotated[SafeText, Field(max_length=64)]


def masked_url(url: str) -> str:
    """``url`` as the API shows it: credentials and query (where tokens tend to live) and the
    fragment replaced by ``***``: ``https://***@host/path?***``. The stored URL stays whole,
    since deliveries use it."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            parts.path,
            "***" if parts.query else "",
            "***" if parts.fragment else "",
        )
    )


class SubscriptionFilters(BaseModel):
    """An absent or empty list matches everything; otherwise the alert's label must be listed."""

    model_config = ConfigDict(extra="forbid")
    cities: list[Annotated[str, Field(max_length=64)]] | None = None
    programs: list[Annotated[str, Field(max_length=64)]] | None = None
    severities: list[Severity] | None = None

    def matches(self, labels: dict[str, str]) -> bool:
        if self.cities and labels.get("city") not in self.cities:
            # An alert without a city (the province) reaches only unfiltered subscribers.
            return False
        if self.programs and labels.get("program") not in self.programs:
            return False
        return not (self.severities and labels.get("severity") not in self.severities)


class RequestedFilters(SubscriptionFilters):
    """The filters of a new subscription: at most ``MAX_FILTER_VALUES`` values a list, text
    without control, bidi or zero-width characters."""

    cities: Annotated[list[FilterValue], Field(max_length=MAX_FILTER_VALUES)] | None = None
    programs: Annotated[list[FilterValue], Field(max_length=MAX_FILTER_VALUES)] | None = None
    severities: Annotated[list[Severity], Field(max_length=MAX_FILTER_VALUES)] | None = None


class SubscriptionRequest(BaseModel):
    """``POST /v1/subscriptions``."""

    model_config = ConfigDict(extra="forbid")
    url: WebhookUrl
    secret: Annotated[SafeText, Field(min_length=16, max_length=256)]
    filters: RequestedFilters = RequestedFilters()
    send_resolved: StrictBool = True
    """Only JSON true or false: 0 or \"no\" are errors, not guesses."""

    MOST_STRINGS: ClassVar[int] = 7 + 2 + 3 * MAX_FILTER_VALUES
    """JSON strings a valid body holds at most: 7 names, the url, the secret, the filters'
    values."""

    @classmethod
    def most_strings(cls) -> int:
        return cls.MOST_STRINGS


StoredUrl = Annotated[AnyHttpUrl, UrlConstraints(allowed_schemes=["http", "https"])]


class Subscription(BaseModel):
    """As stored (with its secret, which the API never returns). Loaded with the rules new
    subscriptions met before December's tighter ones (``SubscriptionRequest``): a rule made
    stricter must not leave one stored subscription unreadable, and with it every read."""

    model_config = ConfigDict(extra="forbid")
    url: StoredUrl
    secret: Annotated[str, Field(min_length=16, max_length=256)]
    filters: SubscriptionFilters = SubscriptionFilters()
    send_resolved: StrictBool = True
    id: str
    created_at: datetime

    def public(self) -> dict[str, Any]:
        """What the API shows: no secret, the URL masked (``masked_url``)."""
        shown = self.model_dump(mode="json", exclude={"secret"})
        shown["url"] = masked_url(shown["url"])
        return shown

    def wants(self, notification: Notification) -> bool:
        if notification.event is Event.RESOLVED and not self.send_resolved:
            return False
        return self.filters.matches(notification.alert.labels)


DeliveryStatus = Literal["pending", "delivered", "dead"]


NO_END = "0001-01-01T00:00:00Z"
"""Alertmanager's ``endsAt`` of an alert that has not ended."""


# Alertmanager formats -------------------------------------------------------------------------


def webhook_body(
    notifications: Sequence[Notification], receiver: str, external_url: str
) -> dict[str, Any]:
    """An Alertmanager webhook v4 body for notifications of one group (at least one).

    ``status`` is firing when any alert fires (a repeat fires), else resolved; ``commonLabels``
    and ``commonAnnotations`` are the pairs every alert has. Nothing is truncated.
    """
    group = group_labels(notifications[0].alert)
    alerts = [_webhook_alert(n, external_url) for n in notifications]
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return {
        "version": "4",
        "groupKey": group_key(group),
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": group,
        "commonLabels": _common([n.alert.labels for n in notifications]),
        "commonAnnotations": _common([n.alert.annotations for n in notifications]),
        "externalURL": external_url,
        "alerts": alerts,
    }


def group_key(group: dict[str, str]) -> str:
    """Alertmanager's form for a group of the root route: ``{}:{alertname="X", program="Y"}``."""
    labels = ", ".join(
        f"{name}={json.dumps(value, ensure_ascii=False)}" for name, value in sorted(group.items())
    )
    return "{}:{" + labels + "}"


def _webhook_alert(notification: Notification, external_url: str) -> dict[str, Any]:
    alert = notification.alert
    return {
        "status": "resolved" if notification.event is Event.RESOLVED else "firing",
        "labels": alert.labels,
        "annotations": alert.annotations,
        "startsAt": notification.starts_at.isoformat(),
        "endsAt": notification.ends_at.isoformat() if notification.ends_at else NO_END,
        "generatorURL": f"{external_url}/v1/alerts",
        "fingerprint": alert.fingerprint,
    }


def _common(dicts: list[dict[str, str]]) -> dict[str, str]:
    first, *others = dicts
    return {k: v for k, v in first.items() if all(other.get(k) == v for other in others)}


def alertmanager_alert(
    alert: Alert, starts_at: datetime, ends_at: datetime, generator_url: str
) -> dict[str, Any]:
    """One item of the body posted to Alertmanager's ``/api/v2/alerts``."""
    return {
        "labels": alert.labels,
        "annotations": alert.annotations,
        "startsAt": starts_at.isoformat(),
        "endsAt": ends_at.isoformat(),
        "generatorURL": generator_url,
    }
