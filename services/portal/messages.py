"""The words of Pacer's codes (statuses, programmes, alerts, error codes) in the source language,
marked for the catalog with ``N_`` and translated where they are shown (``t.gettext``)."""

from __future__ import annotations


def N_(text: str) -> str:
    return text


ROLES = {"city": N_("city officer"), "admin": N_("administrator"), "viewer": N_("viewer")}
STATUSES = {
    "no_data": N_("no data"),
    "on_track": N_("on track"),
    "at_risk": N_("at risk"),
    "behind": N_("behind"),
    "met": N_("met"),
    "missed": N_("missed"),
}
PROGRAMS = {
    "5g-2025": N_("70,000 new 5G sites by 2025"),
    "5g-2027": N_("30 5G sites per 10,000 residents by 2027"),
    "gigabit-2024": N_("Gigabit city standard by 2024"),
}
KINDS = {"5g-sites": N_("5G sites"), "gigabit": N_("gigabit indicators")}
REPORT_STATUSES = {
    "accepted": N_("accepted, being applied"),
    "applied": N_("applied"),
    "rejected": N_("rejected"),
    "duplicate": N_("already received"),
}
CALENDAR = {
    "on_time": N_("on time"),
    "late": N_("late"),
    "missing": N_("missing"),
    "not_due": N_("not yet due"),
    "unrecorded": N_("received before receipts were recorded"),
}
CALENDAR_MARKS = {"on_time": "✓", "late": "!", "missing": "✗", "not_due": "·", "unrecorded": "?"}
SEVERITIES = {"warning": N_("warning"), "critical": N_("critical")}
ALERTS = {
    "FiveGBehindPlan": N_("5G build-out behind plan"),
    "FiveGProjectedMiss": N_("5G target will be missed at the current rate"),
    "FiveGTargetMissed": N_("5G target missed"),
    "FiveGProvinceBehindPlan": N_("Province 5G build-out behind plan"),
    "GigabitIndicatorBelowThreshold": N_("Gigabit indicator below its threshold"),
    "GigabitStandardNotMet": N_("Gigabit city standard not met"),
    "ReportOverdue": N_("Report overdue"),
}
INDICATORS = {
    "household_gigabit_coverage_pct": N_("Urban household gigabit-fibre coverage"),
    "pon_10g_port_share_pct": N_("Share of 10G-PON ports"),
    "key_location_5g_reach_pct": N_("5G reach at key locations"),
    "bs_5g_per_10k": N_("5G base stations per 10,000 residents"),
    "bb_500m_user_share_pct": N_("Broadband users on 500 Mbps or more"),
    "bb_1000m_users": N_("Users on 1000 Mbps or more"),
    "user_5g_share_pct": N_("5G users among mobile users"),
}
FIELDS = {
    "site_id": N_("site id"),
    "operator": N_("operator"),
    "status": N_("status"),
    "commissioned_on": N_("commissioned on"),
    "lat": N_("latitude"),
    "lon": N_("longitude"),
    "district": N_("district"),
    "band": N_("band"),
    "period": N_("period"),
    "as_of": N_("as of"),
}

_ERRORS = {
    "outside_shandong": N_("outside Shandong (latitude 34.3 to 38.5, longitude 114.6 to 122.8)"),
    "literal_error": N_("not one of the allowed values"),
    "literal_error:operator": N_(
        "unknown operator: use China Mobile, China Unicom, China Telecom or China Broadnet"
    ),
    "literal_error:status": N_("unknown status: use in_service or decommissioned"),
    "missing": N_("required, but empty"),
    "string_pattern_mismatch": N_("not in the expected form"),
    "string_pattern_mismatch:site_id": N_(
        "a site id is letters, digits and . _ : / - (starting with a letter or digit)"
    ),
    "string_too_long": N_("too long"),
    "string_too_short": N_("empty"),
    "float_parsing": N_("not a number"),
    "float_type": N_("not a number"),
    "finite_number": N_("not a finite number"),
    "date_from_datetime_parsing": N_("not a date (YYYY-MM-DD)"),
    "date_parsing": N_("not a date (YYYY-MM-DD)"),
    "date_type": N_("not a date (YYYY-MM-DD)"),
    "extra_forbidden": N_("unknown column"),
    "duplicate_site_id": N_("this site id is already on an earlier row"),
    "commissioned_after_as_of": N_("commissioned after the report's as-of date"),
    "site_registered_elsewhere": N_("this site id is registered to another city"),
    "site_limit_exceeded": N_("the city would hold more site ids than it may"),
    "wrong_cell_count": N_("the row has another number of cells than the header"),
    "json_invalid": N_("not valid JSON"),
    "duplicate_indicator": N_("this indicator is given twice"),
    "unknown_indicator": N_("unknown indicator"),
    "out_of_range": N_("outside the allowed range"),
    "above_population": N_("more than the city's population"),
    "greater_than_equal": N_("must not be negative"),
    "not_an_integer": N_("must be a whole number"),
    "period_in_future": N_("the period has not begun"),
    "as_of_outside_period": N_("the as-of date is not in the period"),
    "as_of_in_future": N_("the as-of date is in the future"),
    "too_early": N_("before 2019"),
    "forbidden_character": N_(
        "contains a control, bidi-override, zero-width or line-separator character"
    ),
    "too_many_errors": N_("too many errors: only the first are listed"),
    "duplicate_key": N_("a field is given twice"),
    "report_id_conflict": N_("this report id was used for a different report"),
    "payload_too_large": N_("the file is too large"),
    "forbidden": N_("this token may not submit for this city"),
    "rejected": N_("the report could not be applied"),
    "dead_lettered": N_("the report could not be applied"),
}


def error_text(code: str, field: str | None) -> str | None:
    """The source-language text of an error code, the field's own variant first."""
    return _ERRORS.get(f"{code}:{field}") or _ERRORS.get(code)
