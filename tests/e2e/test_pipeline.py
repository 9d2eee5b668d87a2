"""The whole pipeline as a user sees it: ``pacer up`` on a fixed clock, reports from all 16
cities over HTTP, and the numbers on ``/metrics`` and ``/v1/progress``."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.support.metrics import Samples, parse_samples, promtool_check_metrics, value
from tests.support.pacer_up import PacerUp
from tests.support.processes import wait_until
from tests.support.reports import bearer, gigabit_report, site, sites_report

pytestmark = pytest.mark.slow

NOW = "2024-07-15T12:00:00+08:00"

# From the contract's table (not from Pacer's targets file): id -> (population, baseline, quota).
CONTRACT_CITIES: dict[str, tuple[int, int, int]] = {
    "jinan": (9202432, 18128, 6345), "qingdao": (10071722, 19840, 6944),
    "zibo": (4704138, 9267, 3243), "zaozhuang": (3855601, 7595, 2658),
    "dongying": (2193518, 4321, 1512), "yantai": (7102116, 13991, 4897),
    "weifang": (9386705, 18491, 6472), "jining": (8357897, 16464, 5762),
    "taian": (5472217, 10780, 3773), "weihai": (2906548, 5726, 2004),
    "rizhao": (2968365, 5847, 2047), "linyi": (11018365, 21705, 7597),
    "dezhou": (5611194, 11054, 3869), "liaocheng": (5952128, 11725, 4104),
    "binzhou": (3928568, 7739, 2709), "heze": (8795939, 17327, 6064),
}  # fmt: skip
# Thresholded gigabit indicators: key -> (rule, threshold), from the contract.
RULES = {
    "household_gigabit_coverage_pct": (">", 80), "pon_10g_port_share_pct": (">=", 25),
    "key_location_5g_reach_pct": (">=", 80), "bs_5g_per_10k": (">", 12),
    "bb_500m_user_share_pct": (">=", 27), "user_5g_share_pct": (">=", 27),
}  # fmt: skip


def passes(key: str, number: float) -> bool:
    rule, threshold = RULES[key]
    return number > threshold if rule == ">" else number >= threshold


def city_reports(index: int, city: str) -> tuple[list[dict[str, Any]], dict[str, Any], int]:
    """June and July site reports and a gigabit report; returns them and the in-service count."""
    june = [site(f"{city}-{n:04d}", commissioned_on="2024-06-03") for n in range(20 + 7 * index)]
    decommissioned = index % 3  # some cities take a few June sites out of service in July
    july = [
        site(s["site_id"], commissioned_on="2024-06-03", status="decommissioned")
        for s in june[:decommissioned]
    ]
    july += [site(f"{city}-{n:04d}") for n in range(1000, 1000 + 5 * index)]
    reports = [
        sites_report(*june, period="2024-06", as_of="2024-06-30", report_id=f"{city}-5g-2024-06"),
        sites_report(*july, period="2024-07", as_of="2024-07-12", report_id=f"{city}-5g-2024-07"),
    ]
    gigabit = gigabit_report(
        {
            "household_gigabit_coverage_pct": 70 + 2 * index,  # crosses 80 between cities 5 and 6
            "pon_10g_port_share_pct": 25,  # exactly at a '>=' threshold: passes
            "key_location_5g_reach_pct": 90,
            "bs_5g_per_10k": 12 if index == 0 else 20,  # exactly at a '>' threshold: fails
            "bb_500m_user_share_pct": 40,
            "user_5g_share_pct": 50,
            "bb_1000m_users": 100_000 + index,
        },
        report_id=f"{city}-gig-2024-07",
    )
    in_service = len(june) - decommissioned + 5 * index
    return reports, gigabit, in_service


def scrape(up: PacerUp) -> tuple[str, Samples]:
    response = httpx.get(f"{up.url('exporter')}/metrics", timeout=10)
    assert response.status_code == 200
    return response.text, parse_samples(response.text)


def test_reports_from_all_cities_reach_metrics_and_progress_consistently(
    start_pacer_up: Callable[..., PacerUp],
) -> None:
    up = start_pacer_up(PACER_CLOCK=f"fixed:{NOW}")
    up.wait_all_ready()
    tokens = up.tokens()
    expected_in_service: dict[str, int] = {}
    expected_gigabit: dict[str, dict[str, float]] = {}
    report_ids: list[str] = []
    with httpx.Client(base_url=up.url("ingest"), timeout=30) as api:
        for index, city in enumerate(CONTRACT_CITIES):
            auth = bearer(tokens[f"{city}-officer"])
            site_reports, gigabit, in_service = city_reports(index, city)
            for body in [*site_reports, gigabit]:
                kind = "gigabit" if "indicators" in body else "5g-sites"
                response = api.post(f"/v1/cities/{city}/reports/{kind}", json=body, headers=auth)
                assert response.status_code == 202, response.text
                report_ids.append(body["report_id"])
            expected_in_service[city] = in_service
            expected_gigabit[city] = gigabit["indicators"]

        viewer = bearer(tokens["viewer"])

        def all_applied() -> bool:
            return all(
                api.get(f"/v1/reports/{rid}", headers=viewer).json()["status"] == "applied"
                for rid in report_ids
            )

        wait_until(all_applied, timeout=30, interval=0.2)
        progress = api.get("/v1/progress", headers=viewer).json()

    body, samples = scrape(up)
    result = promtool_check_metrics(body)
    assert result.returncode == 0, result.stdout + result.stderr
    now_epoch = datetime.fromisoformat(NOW).timestamp()

    for city, (population, baseline, quota) in CONTRACT_CITIES.items():
        new = expected_in_service[city]
        in_service = baseline + new
        assert value(samples, "pacer_5g_sites_in_service", city=city) == in_service
        assert value(samples, "pacer_5g_sites_per_10k", city=city) == pytest.approx(
            in_service / population * 10_000
        )
        for program in ("5g-2025", "5g-2027"):
            assert value(samples, "pacer_5g_sites_new", city=city, program=program) == new
        assert value(samples, "pacer_5g_sites_target_new", city=city, program="5g-2025") == quota
        density_target = math.ceil(30 * population / 10_000) - baseline
        assert (
            value(samples, "pacer_5g_sites_target_new", city=city, program="5g-2027")
            == density_target
        )
        for kind in ("5g-sites", "gigabit"):
            assert (
                value(samples, "pacer_report_last_received_timestamp_seconds", city=city, kind=kind)
                == now_epoch
            )
        sent = expected_gigabit[city]
        for key, number in sent.items():
            assert (
                value(samples, "pacer_gigabit_indicator_value", city=city, indicator=key) == number
            )
            if key in RULES:
                assert value(
                    samples, "pacer_gigabit_indicator_passing", city=city, indicator=key
                ) == passes(key, number)
        met = all(passes(k, sent[k]) for k in RULES)
        assert value(samples, "pacer_gigabit_standard_met", city=city) == met

        # The API and the metrics tell the same story.
        view = progress["cities"][city]
        assert view["sites_in_service"] == in_service
        for program in ("5g-2025", "5g-2027", "gigabit-2024"):
            status = view["programs"][program]["status"]
            assert (
                value(samples, "pacer_program_status", city=city, program=program, status=status)
                == 1
            )
            assert view["programs"][program]["attainment"] == pytest.approx(
                value(samples, "pacer_program_attainment_ratio", city=city, program=program),
                abs=1e-4,
            )
        assert view["programs"]["5g-2025"]["actual"] == new
        assert view["programs"]["gigabit-2024"]["standard_met"] == met

    total_new = sum(expected_in_service.values())
    assert (
        sum(
            samples["pacer_5g_sites_new"][k]
            for k in samples["pacer_5g_sites_new"]
            if ("program", "5g-2025") in k
        )
        == total_new
    )
    assert progress["province"]["programs"]["5g-2025"]["actual"] == total_new
    assert progress["province"]["programs"]["5g-2025"]["target"] == 70_000
    assert value(samples, "pacer_dead_letter_messages", stream="pacer:stream:reports") == 0
    pending = samples["pacer_stream_pending_messages"]
    assert (
        pending[frozenset({"stream": "pacer:stream:reports", "group": "aggregator"}.items())] == 0
    )
