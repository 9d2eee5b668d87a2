"""A report record as the API shows it (``shared.wire.ReportRecord``): a rejected report's stored
errors become the contract's error items, and only admin and viewer tokens learn the owners."""

from __future__ import annotations

import json

from shared.wire import ReportRecord

STORED = {
    "report_id": "qd-2024-07",
    "city": "qingdao",
    "kind": "5g-sites",
    "status": "rejected",
    "received_at": "2024-07-15T12:00:00+08:00",
    "fingerprint": "f",
    "errors": json.dumps(
        [
            {
                "loc": ["body", "sites", 3, "site_id"],
                "code": "site_registered_elsewhere",
                "site_id": "JN-7",
                "owner": "jinan",
            },
            {
                "loc": ["body", "sites"],
                "code": "site_limit_exceeded",
                "new": 12,
                "registered": 99_990,
                "limit": 100_000,
            },
            {"loc": ["body", "sites"], "code": "too_many_errors", "count": 250},
            {"loc": [], "code": "dead_lettered", "message": "could not be applied in 5 attempts"},
        ]
    ),
}


def test_a_rejected_reports_errors_name_the_owner_to_admin_and_viewer_tokens() -> None:
    record = ReportRecord.from_hash(STORED, name_owners=True)

    assert record.errors is not None
    assert [e.model_dump() for e in record.errors] == [
        {
            "loc": ["body", "sites", 3, "site_id"],
            "code": "site_registered_elsewhere",
            "message": "site 'JN-7' is registered to jinan",
        },
        {
            "loc": ["body", "sites"],
            "code": "site_limit_exceeded",
            "message": "the report would register 12 new site ids; the city holds 99990 of at "
            "most 100000 (limits.max_sites_per_city in the targets file)",
        },
        {
            "loc": ["body", "sites"],
            "code": "too_many_errors",
            "message": "250 errors in all; the first 99 are listed",
        },
        {"loc": [], "code": "dead_lettered", "message": "could not be applied in 5 attempts"},
    ]


def test_a_city_token_learns_only_that_another_city_holds_the_site() -> None:
    record = ReportRecord.from_hash(STORED)

    assert record.errors is not None
    assert record.errors[0].message == "site 'JN-7' is registered to another city"
    assert "jinan" not in record.model_dump_json()


def test_an_accepted_report_has_no_errors() -> None:
    fields = {k: v for k, v in STORED.items() if k != "errors"} | {"status": "accepted"}

    record = ReportRecord.from_hash(fields)

    assert record.errors is None
    assert "errors" not in record.model_dump(exclude_none=True)
