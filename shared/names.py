"""Every Redis stream, consumer group and key name Pacer uses, in one place.

Services never spell a key themselves: they call these functions, so a layout change is one edit.
All keys of one city share the ``{city}`` part so a later move to Redis Cluster can hash-tag them.
"""

from __future__ import annotations

PREFIX = "pacer"

# Streams
REPORTS_STREAM = f"{PREFIX}:stream:reports"
"""Accepted reports, written by ingest, consumed by the aggregator."""
PROGRESS_STREAM = f"{PREFIX}:stream:progress"
"""One event per applied report, written by the aggregator, consumed by alerting."""
DEAD_LETTER_STREAM = f"{PREFIX}:stream:reports:dead"
"""Reports the aggregator could not apply, with the reason."""
ALERTS_STREAM = f"{PREFIX}:stream:alerts"
"""Alert notifications, one entry per group and evaluation (written by the evaluator), and new
subscriptions with the alerts active then (written by ingest); see ``ALERTS_ENTRY_*``."""

# Consumer groups
AGGREGATOR_GROUP = "aggregator"
ALERTING_GROUP = "alerting"
DELIVERY_GROUP = "delivery"

STREAM_GROUPS: dict[str, tuple[str, ...]] = {
    REPORTS_STREAM: (AGGREGATOR_GROUP,),
    PROGRESS_STREAM: (ALERTING_GROUP,),
    ALERTS_STREAM: (DELIVERY_GROUP,),
}
"""Every consumer group, by stream. Created at id 0 before any producer writes."""

DEAD_LETTER_STREAMS: dict[str, str] = {REPORTS_STREAM: DEAD_LETTER_STREAM}
"""Source stream -> the stream its given-up entries are moved to."""

ALL_STREAMS: tuple[str, ...] = (REPORTS_STREAM, PROGRESS_STREAM, ALERTS_STREAM, DEAD_LETTER_STREAM)

# Keys
# Sites (owned by ``shared.store.sites``; the layout is versioned, see SITES_FORMAT_KEY)
SITES_FORMAT_KEY = f"{PREFIX}:sites:format"
"""String: the live layout of the sites: ``2`` (compact buckets), ``migrating`` while
``pacer migrate`` moves a v1 store; absent on a v1 store (``SITE_OWNER_KEY`` exists) or an empty
one (the first write sets ``2``)."""
SITES_MIGRATION_KEY = f"{PREFIX}:sites:migration"
"""Hash: where ``pacer migrate`` is (phase, HSCAN cursor, sites moved), so that it resumes."""
SITE_CITY_IDS_KEY = f"{PREFIX}:sites:cities"
"""Hash city -> its 2-character id in site values, "#<id>" -> city, "#next" -> the last id."""


def site_bucket_key(bucket: int) -> str:
    """Hash site_id -> compact site value (``shared.store.sites.encoding``): the v2 index, one
    of ``encoding.BUCKETS`` small hashes a site id is spread over by a hash of it."""
    return f"{PREFIX}:sites:{bucket}"


def city_site_count_key(city: str) -> str:
    """String: how many site ids the city holds (its ceiling is checked against this)."""
    return f"{PREFIX}:city:{{{city}}}:site-count"


def city_site_words_key(city: str) -> str:
    """Hash district or band text -> its id in the city's site values (they repeat)."""
    return f"{PREFIX}:city:{{{city}}}:site-words"


SITE_OWNER_KEY = f"{PREFIX}:site-owner"
"""v1 layout, read only by the migration: hash site_id -> city id."""
ENTRY_ERRORS_KEY = f"{PREFIX}:entry-errors"
"""Hash stream entry id -> the last error applying it (for the dead-letter reason)."""
STATE_GENERATION_KEY = f"{PREFIX}:state-generation"
"""Hash city -> a counter that every change to the city's judged state increments (the apply
scripts, a site's release, the gigabit readings' upgrade): a reader that keeps parsed states
(``shared.store.state.RedisCityStates``) reads again only the cities whose counter moved."""
LAST_RECEIVED_KEY = f"{PREFIX}:last-received"
"""Hash "<city>|<kind>" -> epoch seconds of the latest applied report's receipt."""


REPORTS_REJECTED_KEY = f"{PREFIX}:reports-rejected"
"""Hash "<city>|<kind>|<code>" -> reports answered 202 that the aggregator then rejected, counted
under the code of their first error (``pacer_reports_rejected_total``)."""


def reports_rejected_field(city: str, kind: str, code: str) -> str:
    return f"{city}|{kind}|{code}"


def report_key(city: str, report_id: str) -> str:
    """Hash: one submitted report's id record, status, summary and (when rejected) errors.

    A report id is scoped to its city (contract §3): the same id from two cities is two records.
    """
    return f"{PREFIX}:city:{{{city}}}:report:{report_id}"


def city_reports_key(city: str) -> str:
    """Sorted set report_id -> epoch seconds of its receipt: the city's reports, newest last."""
    return f"{PREFIX}:city:{{{city}}}:reports"


LEGACY_REPORT_PATTERN = f"{PREFIX}:report:*"
"""Where Pacer before contract v2 kept every report's record, whatever its city; the start-up
upgrade (``shared.store.reports.records``) moves them under ``report_key``."""


def legacy_report_key(report_id: str) -> str:
    return f"{PREFIX}:report:{report_id}"


def city_sites_key(city: str) -> str:
    """v1 layout, read only by the migration: hash site_id -> "<version>\t<record>"
    (``shared.store.sites.encoding``)."""
    return f"{PREFIX}:city:{{{city}}}:sites"


def city_site_days_key(city: str) -> str:
    """Hash YYYY-MM-DD -> number of in-service sites commissioned that day (same in v1 and v2;
    written by the sites family's scripts, read by ``shared.store.state``)."""
    return f"{PREFIX}:city:{{{city}}}:site-days"


def city_indicators_key(city: str) -> str:
    """Hash indicator -> the current reading (latest as_of): tab-separated version, value, as_of,
    report_id (see ``shared.store.reports.apply_scripts.APPLY_GIGABIT``)."""
    return f"{PREFIX}:city:{{{city}}}:gigabit"


def city_indicator_history_key(city: str) -> str:
    """List of every applied value in arrival order: tab-separated indicator, value, as_of,
    report_id."""
    return f"{PREFIX}:city:{{{city}}}:gigabit-history"


def city_indicator_readings_key(city: str) -> str:
    """Hash "<indicator>\t<as_of>" -> "<version>\t<value>\t<report_id>": for each indicator and
    ``as_of`` the reading that wins (the later version, as for the current value). What the
    judgement and the history read: bounded by indicators x dates, where the history list grows
    with every submission (``APPLY_GIGABIT``)."""
    return f"{PREFIX}:city:{{{city}}}:gigabit-by-as-of"


def city_periods_key(city: str, kind: str) -> str:
    """Set of YYYY-MM periods for which the city has an applied report of this kind."""
    return f"{PREFIX}:city:{{{city}}}:periods:{kind}"


def city_latest_as_of_key(city: str) -> str:
    """Hash report kind -> the latest ``as_of`` (YYYY-MM-DD) among the city's applied reports of
    that kind: the ``A`` of the judgement day (contract §1.1)."""
    return f"{PREFIX}:city:{{{city}}}:latest-as-of"


def city_period_received_key(city: str, kind: str) -> str:
    """Hash YYYY-MM period -> epoch seconds of the earliest receipt among the city's applied
    reports of this kind for that month (on time or late, contract §6)."""
    return f"{PREFIX}:city:{{{city}}}:received:{kind}"


def last_received_field(city: str, kind: str) -> str:
    return f"{city}|{kind}"


# Alerts
ACTIVE_ALERTS_KEY = f"{PREFIX}:alerts:active"
"""Hash fingerprint -> JSON of an active alert (``shared.wire_alerts.encode_active``)."""
ALERTS_STATE_FORMAT_KEY = f"{PREFIX}:alerts:format"
"""String: the format of ``ACTIVE_ALERTS_KEY`` (``shared.domain.alert_state_upgrade``); absent
until the evaluator has upgraded v1 records."""
ALERTS_ENTRY_NOTIFIED = "notified"
"""Alerts-stream entry type: one group's notifications from one evaluation."""
ALERTS_ENTRY_SUBSCRIBED = "subscribed"
"""Alerts-stream entry type: a new subscription, with the active alerts of that instant."""

# Subscriptions and deliveries
SUBSCRIPTIONS_KEY = f"{PREFIX}:subscriptions"
"""Hash subscription id -> JSON of the subscription (with its secret: never returned by the API)."""
SUBSCRIPTION_ALERTS_FROM_KEY = f"{PREFIX}:subscriptions:alerts-from"
"""Hash subscription id -> the alerts-stream entry id of its creation: it receives the alerts
active then from that entry, and notifications only from later entries."""
DELIVERIES_DUE_KEY = f"{PREFIX}:deliveries:due"
"""Sorted set delivery id -> unix time of its next attempt."""


def delivery_key(delivery_id: str) -> str:
    """Hash: one delivery (a notification to one subscriber) and its attempts."""
    return f"{PREFIX}:delivery:{delivery_id}"


def subscription_deliveries_key(subscription_id: str) -> str:
    """List of the subscription's most recent delivery ids, newest first (capped)."""
    return f"{PREFIX}:subscription:{subscription_id}:deliveries"
