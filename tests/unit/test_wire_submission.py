"""``encode_submission`` gives exactly the payload and fingerprint of ``encode_payload`` and
``body_fingerprint`` (shared/wire.py): it only saves the ingest a second serialisation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.domain.state import ReportKind
from shared.wire import (
    GigabitReport,
    SitesReport,
    body_fingerprint,
    encode_payload,
    encode_submission,
)
from tests.support.reports import gigabit_report, site, sites_report

SITES_BODIES: list[dict[str, Any]] = [
    sites_report(site("JN-1"), site("JN-2", district='历下区 "east", report_id')),
    sites_report(site("JN-1"), report_id="jinan-2024-07.a:b-c"),
    sites_report(site("report_id", district=',"report_id":"report_id"'), report_id="report_id"),
    sites_report(report_id="empty-report"),
]
GIGABIT_BODIES: list[dict[str, Any]] = [
    gigabit_report({"household_gigabit_coverage_pct": 112.4}),
    gigabit_report({"report_id": 1.0, "bs_5g_per_10k": 21.7}, report_id="report_id"),
]


@pytest.mark.parametrize("body", SITES_BODIES)
def test_a_sites_submission_encodes_like_payload_and_fingerprint(body: dict[str, Any]) -> None:
    report = SitesReport.model_validate_json(json.dumps(body))
    assert encode_submission("jinan", ReportKind.SITES, report) == (
        encode_payload(report),
        body_fingerprint("jinan", ReportKind.SITES, report),
    )


@pytest.mark.parametrize("body", GIGABIT_BODIES)
def test_a_gigabit_submission_encodes_like_payload_and_fingerprint(body: dict[str, Any]) -> None:
    report = GigabitReport.model_validate_json(json.dumps(body))
    assert encode_submission("qingdao", ReportKind.GIGABIT, report) == (
        encode_payload(report),
        body_fingerprint("qingdao", ReportKind.GIGABIT, report),
    )


def test_the_same_body_with_another_report_id_has_the_same_fingerprint() -> None:
    first = SitesReport.model_validate_json(json.dumps(sites_report(site("A"), report_id="one")))
    second = SitesReport.model_validate_json(json.dumps(sites_report(site("A"), report_id="two")))
    assert (
        encode_submission("jinan", ReportKind.SITES, first)[1]
        == encode_submission("jinan", ReportKind.SITES, second)[1]
    )
