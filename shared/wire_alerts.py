"""Wire formats of alerts: active-alert records, notification entries, subscriptions, webhooks.

The one place that knows how an alert looks in Redis, on the alerts stream, in ``GET /v1/alerts``,
in an Alertmanager webhook v4 body and in Alertmanager's ``/api/v2/alerts``.
"""

from __future__ import annotations

import json
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

from shared.domain.alert_lifecycle import ActiveAlert, Event, Notification
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


# Notifications (stream names.ALERTS_STREAM) ----------------------------------------------------


def notification_fields(notification: Notification) -> dict[str, str]:
    return {
        "event": str(notification.event),
        "fingerprint": notification.alert.fingerprint,
        "labels": json.dumps(notification.alert.labels, sort_keys=True, ensure_ascii=False),
        "annotations": json.dumps(
            notification.alert.annotations, sort_keys=True, ensure_ascii=False
        ),
        "starts_at": notification.starts_at.isoformat(),
        "ends_at": notification.ends_at.isoformat() if notification.ends_at else "",
        "at": notification.at.isoformat(),
    }


def notification_from_fields(fields: dict[str, str]) -> Notification:
    return Notification(
        event=Event(fields["event"]),
        alert=Alert(
            labels=json.loads(fields["labels"]), annotations=json.loads(fields["annotations"])
        ),
        starts_at=datetime.fromisoformat(fields["starts_at"]),
        ends_at=datetime.fromisoformat(fields["ends_at"]) if fields["ends_at"] else None,
        at=datetime.fromisoformat(fields["at"]),
    )


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


# Alertmanager formats -------------------------------------------------------------------------


def webhook_body(notification: Notification, receiver: str, external_url: str) -> dict[str, Any]:
    """An Alertmanager webhook v4 body carrying the one alert of ``notification``."""
    alert = notification.alert
    status = "resolved" if notification.event is Event.RESOLVED else "firing"
    group_labels = {"alertname": alert.name}
    return {
        "version": "4",
        "groupKey": "{}:" + "{" + f'alertname="{alert.name}"' + "}",
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": group_labels,
        "commonLabels": alert.labels,
        "commonAnnotations": alert.annotations,
        "externalURL": external_url,
        "alerts": [
            {
                "status": status,
                "labels": alert.labels,
                "annotations": alert.annotations,
                "startsAt": notification.starts_at.isoformat(),
                "endsAt": notification.ends_at.isoformat()
                if notification.ends_at
                else "0001-01-01T00:00:00Z",
                "generatorURL": f"{external_url}/v1/alerts",
                "fingerprint": alert.fingerprint,
            }
        ],
    }


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
