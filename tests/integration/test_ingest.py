"""The ingest service over real HTTP against a real redis-server: idempotency, validation, auth."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from shared import names
from tests.conftest import ADMIN_TOKEN, CITY_TOKENS, VIEWER_TOKEN
from tests.support import sites as stored_sites
from tests.support.metrics import parse_samples, promtool_check_metrics, value
from tests.support.processes import RedisServer, Service, wait_until
from tests.support.reports import bearer, gigabit_report, site, sites_report

JINAN = bearer(CITY_TOKENS["jinan"])
QINGDAO = bearer(CITY_TOKENS["qingdao"])
ADMIN = bearer(ADMIN_TOKEN)
VIEWER = bearer(VIEWER_TOKEN)


@pytest.fixture(scope="module")
def services(
    redis_server: RedisServer, tokens_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Service]]:
    logs = tmp_path_factory.mktemp("logs")
    env = {
        "PACER_REDIS_URL": redis_server.url,
        "PACER_TOKENS_FILE": str(tokens_file),
        "PACER_CLOCK": "fixed:2024-07-15T12:00:00+08:00",
        "PACER_MAX_BODY_BYTES": str(2 * 1024 * 1024),
    }
    started = {name: Service(name, env, logs / f"{name}.log") for name in ("ingest", "aggregator")}
    try:
        for service in started.values():
            service.start()
        yield started
    finally:
        for service in started.values():
            service.stop()


@pytest.fixture
def api(services: dict[str, Service], redis_client: redis.Redis) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=services["ingest"].url, timeout=10) as client:
        yield client


def submit(
    api: httpx.Client, city: str, kind: str, body: Any, headers: dict[str, str], **params: str
) -> httpx.Response:
    return api.post(f"/v1/cities/{city}/reports/{kind}", json=body, headers=headers, params=params)


def nothing_stored(redis_client: redis.Redis) -> bool:
    return redis_client.xlen(names.REPORTS_STREAM) == 0 and not redis_client.keys(
        names.report_key("*", "*")
    )


def wait_applied(api: httpx.Client, report_id: str) -> dict[str, Any]:
    def applied() -> bool:
        return api.get(f"/v1/reports/{report_id}", headers=ADMIN).json().get("status") == "applied"

    wait_until(applied, timeout=10)
    record: dict[str, Any] = api.get(f"/v1/reports/{report_id}", headers=ADMIN).json()
    return record


# Idempotency ---------------------------------------------------------------------------------


def test_the_same_report_twice_is_stored_once_and_answered_duplicate(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    body = sites_report(site("JN-0001"), report_id="jinan-2024-07-1")
    first = submit(api, "jinan", "5g-sites", body, JINAN)
    second = submit(api, "jinan", "5g-sites", body, JINAN)
    assert first.status_code == 202
    assert first.json()["status"] == "accepted"
    assert second.status_code == 200
    assert second.json() == first.json() | {"status": "duplicate"}
    assert redis_client.xlen(names.REPORTS_STREAM) == 1
    record = wait_applied(api, "jinan-2024-07-1")
    assert record["summary"] == {"created": 1, "updated": 0, "unchanged": 0}


def test_the_same_id_with_another_body_is_a_conflict_and_changes_nothing(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    submit(api, "jinan", "5g-sites", sites_report(site("JN-0001"), report_id="r-1"), JINAN)
    response = submit(
        api, "jinan", "5g-sites", sites_report(site("JN-0002"), report_id="r-1"), JINAN
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "report_id_conflict"
    assert redis_client.xlen(names.REPORTS_STREAM) == 1


def test_the_idempotency_key_header_identifies_a_submission(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    body = gigabit_report({"household_gigabit_coverage_pct": 91.5})
    key = {"Idempotency-Key": "jinan-gig-2024-07"}
    first = submit(api, "jinan", "gigabit", body, JINAN | key)
    second = submit(api, "jinan", "gigabit", body, JINAN | key)
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json()["report_id"] == "jinan-gig-2024-07"
    assert redis_client.xlen(names.REPORTS_STREAM) == 1


def test_a_header_key_that_contradicts_the_body_id_is_rejected(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    body = gigabit_report({"household_gigabit_coverage_pct": 91.5}, report_id="a")
    response = submit(api, "jinan", "gigabit", body, JINAN | {"Idempotency-Key": "b"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert nothing_stored(redis_client)


def test_without_an_id_the_server_assigns_one(api: httpx.Client) -> None:
    response = submit(api, "jinan", "gigabit", gigabit_report({"user_5g_share_pct": 40}), JINAN)
    assert response.status_code == 202
    report_id = response.json()["report_id"]
    assert report_id
    assert wait_applied(api, report_id)["kind"] == "gigabit"


# Validation: each rule of the contract -> its status, code and loc; nothing stored ------------

VALIDATION_CASES: list[tuple[str, str, str, Any, int, list[Any], str]] = [
    (
        "unknown city",
        "atlantis",
        "gigabit",
        gigabit_report({"user_5g_share_pct": 40}),
        404,
        ["path", "city"],
        "unknown_city",
    ),
    (
        "laiwu merged into jinan",
        "laiwu",
        "5g-sites",
        sites_report(site("LW-1")),
        404,
        ["path", "city"],
        "unknown_city",
    ),
    (
        "malformed period",
        "jinan",
        "gigabit",
        gigabit_report({"user_5g_share_pct": 40}, period="2024-7"),
        422,
        ["body", "period"],
        "string_pattern_mismatch",
    ),
    (
        "period in the future",
        "jinan",
        "gigabit",
        gigabit_report({"user_5g_share_pct": 40}, period="2024-08", as_of="2024-08-01"),
        422,
        ["body", "period"],
        "period_in_future",
    ),
    (
        "as_of outside the period",
        "jinan",
        "gigabit",
        gigabit_report({"user_5g_share_pct": 40}, as_of="2024-06-30"),
        422,
        ["body", "as_of"],
        "as_of_outside_period",
    ),
    (
        "as_of after now",
        "jinan",
        "gigabit",
        gigabit_report({"user_5g_share_pct": 40}, as_of="2024-07-16"),
        422,
        ["body", "as_of"],
        "as_of_in_future",
    ),
    (
        "as_of not a date",
        "jinan",
        "gigabit",
        gigabit_report({"user_5g_share_pct": 40}, as_of="10/07/2024"),
        422,
        ["body", "as_of"],
        "date_parsing",
    ),
    (
        "percentage over 100",
        "jinan",
        "gigabit",
        gigabit_report({"pon_10g_port_share_pct": 100.5}),
        422,
        ["body", "indicators", "pon_10g_port_share_pct"],
        "out_of_range",
    ),
    (
        "negative percentage",
        "jinan",
        "gigabit",
        gigabit_report({"user_5g_share_pct": -1}),
        422,
        ["body", "indicators", "user_5g_share_pct"],
        "out_of_range",
    ),
    (
        "household coverage over 500",
        "jinan",
        "gigabit",
        gigabit_report({"household_gigabit_coverage_pct": 500.1}),
        422,
        ["body", "indicators", "household_gigabit_coverage_pct"],
        "out_of_range",
    ),
    (
        "negative count",
        "jinan",
        "gigabit",
        gigabit_report({"bb_1000m_users": -5}),
        422,
        ["body", "indicators", "bb_1000m_users"],
        "out_of_range",
    ),
    (
        "fractional count",
        "jinan",
        "gigabit",
        gigabit_report({"bb_1000m_users": 10.5}),
        422,
        ["body", "indicators", "bb_1000m_users"],
        "not_an_integer",
    ),
    (
        "unknown indicator",
        "jinan",
        "gigabit",
        gigabit_report({"fibre_km": 3}),
        422,
        ["body", "indicators", "fibre_km"],
        "unknown_indicator",
    ),
    (
        "unknown top-level field",
        "jinan",
        "gigabit",
        gigabit_report({"user_5g_share_pct": 40}, comment="hi"),
        422,
        ["body", "comment"],
        "extra_forbidden",
    ),
    (
        "unknown site field",
        "jinan",
        "5g-sites",
        sites_report(site("JN-1", height_m=30)),
        422,
        ["body", "sites", 0, "height_m"],
        "extra_forbidden",
    ),
    (
        "duplicate site_id in one report",
        "jinan",
        "5g-sites",
        sites_report(site("JN-1"), site("JN-2"), site("JN-1")),
        422,
        ["body", "sites", 2, "site_id"],
        "duplicate_site_id",
    ),
    (
        "commissioned after as_of",
        "jinan",
        "5g-sites",
        sites_report(site("JN-1", commissioned_on="2024-07-11")),
        422,
        ["body", "sites", 0, "commissioned_on"],
        "commissioned_after_as_of",
    ),
    (
        "latitude outside Shandong",
        "jinan",
        "5g-sites",
        sites_report(site("JN-1"), site("JN-2", lat=39.9)),
        422,
        ["body", "sites", 1, "lat"],
        "outside_shandong",
    ),
    (
        "longitude outside Shandong",
        "jinan",
        "5g-sites",
        sites_report(site("JN-1", lon=114.5)),
        422,
        ["body", "sites", 0, "lon"],
        "outside_shandong",
    ),
    (
        "unknown operator",
        "jinan",
        "5g-sites",
        sites_report(site("JN-1", operator="acme")),
        422,
        ["body", "sites", 0, "operator"],
        "literal_error",
    ),
    (
        "unknown status",
        "jinan",
        "5g-sites",
        sites_report(site("JN-1", status="planned")),
        422,
        ["body", "sites", 0, "status"],
        "literal_error",
    ),
    (
        "a coordinate sent as a string",
        "jinan",
        "5g-sites",
        sites_report(site("JN-1", lat="36.6")),
        422,
        ["body", "sites", 0, "lat"],
        "float_type",
    ),
    (
        "an indicator sent as a string",
        "jinan",
        "gigabit",
        gigabit_report({"user_5g_share_pct": "40"}),
        422,
        ["body", "indicators", "user_5g_share_pct"],
        "float_type",
    ),
    (
        "more than 10,000 sites",
        "jinan",
        "5g-sites",
        sites_report(*[site(f"JN-{i}") for i in range(10_001)]),
        422,
        ["body", "sites"],
        "too_long",
    ),
]


@pytest.mark.parametrize(
    ("city", "kind", "body", "status", "loc", "code"),
    [case[1:] for case in VALIDATION_CASES],
    ids=[case[0] for case in VALIDATION_CASES],
)
def test_each_validation_rule_rejects_the_whole_report_with_its_loc(
    api: httpx.Client,
    redis_client: redis.Redis,
    city: str,
    kind: str,
    body: Any,
    status: int,
    loc: list[Any],
    code: str,
) -> None:
    response = submit(api, city, kind, body, ADMIN)
    assert response.status_code == status, response.text
    errors = response.json()["errors"]
    assert {"loc": loc, "code": code} in [{"loc": e["loc"], "code": e["code"]} for e in errors]
    assert all(e["message"] for e in errors)
    assert nothing_stored(redis_client)


def test_household_coverage_may_exceed_100_percent(api: httpx.Client) -> None:
    response = submit(
        api, "jinan", "gigabit", gigabit_report({"household_gigabit_coverage_pct": 130}), JINAN
    )
    assert response.status_code == 202


def test_nan_is_not_a_number_pacer_accepts(api: httpx.Client, redis_client: redis.Redis) -> None:
    raw = '{"period": "2024-07", "as_of": "2024-07-10", "indicators": {"user_5g_share_pct": NaN}}'
    response = api.post(
        "/v1/cities/jinan/reports/gigabit",
        content=raw,
        headers=JINAN | {"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][:3] == ["body", "indicators", "user_5g_share_pct"]
    assert nothing_stored(redis_client)


def test_a_site_registered_to_another_city_is_rejected(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    accepted = submit(
        api,
        "qingdao",
        "5g-sites",
        sites_report(site("QD-7", lat=36.07, lon=120.38), report_id="qd-1"),
        QINGDAO,
    )
    assert accepted.status_code == 202
    wait_applied(api, "qd-1")
    response = submit(api, "jinan", "5g-sites", sites_report(site("JN-1"), site("QD-7")), JINAN)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "loc": ["body", "sites", 1, "site_id"],
            "code": "site_registered_elsewhere",
            "message": "site 'QD-7' is registered to another city",  # a city learns no owner
        }
    ]
    assert redis_client.xlen(names.REPORTS_STREAM) == 1
    # an admin learns which city holds it, in the submission and in the dry run
    for params in ({}, {"dry_run": "true"}):
        body = sites_report(site("JN-1"), site("QD-7"))
        as_admin = submit(api, "jinan", "5g-sites", body, ADMIN, **params)
        assert as_admin.json()["errors"][0]["message"] == "site 'QD-7' is registered to qingdao"


def test_a_report_naming_sites_of_another_city_stores_nothing_and_its_owner_may_send_it(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    # Registered as the aggregator registers applied sites; 3,000 sites take the accept script
    # more than one look-up of owners.
    stored_sites.register_ids(redis_client, "qingdao", "QD-1500", "QD-2999")
    body = sites_report(*[site(f"QD-{i}") for i in range(3000)], report_id="border-1")
    refused = submit(api, "jinan", "5g-sites", body, JINAN)
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {
            "loc": ["body", "sites", index, "site_id"],
            "code": "site_registered_elsewhere",
            "message": f"site 'QD-{index}' is registered to another city",
        }
        for index in (1500, 2999)
    ]
    assert nothing_stored(redis_client)
    assert submit(api, "qingdao", "5g-sites", body, QINGDAO).status_code == 202


def test_a_site_of_another_city_is_listed_after_the_reports_other_errors(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    stored_sites.register_ids(redis_client, "qingdao", "QD-7")
    body = sites_report(site("JN-1", commissioned_on="2024-07-11"), site("QD-7"))
    for params in ({}, {"dry_run": "true"}):
        response = submit(api, "jinan", "5g-sites", body, JINAN, **params)
        assert response.status_code == 422
        assert [(e["loc"], e["code"]) for e in response.json()["errors"]] == [
            (["body", "sites", 0, "commissioned_on"], "commissioned_after_as_of"),
            (["body", "sites", 1, "site_id"], "site_registered_elsewhere"),
        ]
    assert nothing_stored(redis_client)


def test_an_oversized_body_is_413_and_a_non_json_body_415(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    huge = "x" * (2 * 1024 * 1024 + 1)
    too_big = api.post(
        "/v1/cities/jinan/reports/gigabit",
        content=huge,
        headers=JINAN | {"Content-Type": "application/json"},
    )
    assert too_big.status_code == 413
    assert too_big.json()["errors"][0]["code"] == "payload_too_large"
    form = api.post(
        "/v1/cities/jinan/reports/gigabit",
        content="a=b",
        headers=JINAN | {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415
    assert nothing_stored(redis_client)


def test_malformed_json_is_a_422_pointing_at_the_body(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    response = api.post(
        "/v1/cities/jinan/reports/gigabit",
        content="{not json",
        headers=JINAN | {"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][0] == "body"
    assert response.json()["errors"][0]["code"] == "json_invalid"


# Dry run --------------------------------------------------------------------------------------


def test_a_dry_run_previews_the_summary_and_stores_nothing(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    submit(
        api, "jinan", "5g-sites", sites_report(site("JN-1"), site("JN-2"), report_id="base"), JINAN
    )
    wait_applied(api, "base")
    before = {key: redis_client.type(key) for key in redis_client.keys("*")}
    stream_length = redis_client.xlen(names.REPORTS_STREAM)
    body = sites_report(
        site("JN-1"),
        site("JN-2", status="decommissioned"),
        site("JN-3"),
        as_of="2024-07-12",
        report_id="preview",
    )
    response = submit(api, "jinan", "5g-sites", body, JINAN, dry_run="true")
    assert response.status_code == 200
    assert response.json() == {
        "report_id": "preview",
        "status": "valid",
        "dry_run": True,
        "summary": {"created": 1, "updated": 1, "unchanged": 1},
    }
    assert {key: redis_client.type(key) for key in redis_client.keys("*")} == before
    assert redis_client.xlen(names.REPORTS_STREAM) == stream_length
    assert api.get("/v1/reports/preview", headers=ADMIN).status_code == 404


def test_a_gigabit_dry_run_previews_what_its_apply_then_does(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    base = {"household_gigabit_coverage_pct": 90.0, "user_5g_share_pct": 30.0}
    submit(api, "jinan", "gigabit", gigabit_report(base, report_id="g-base"), JINAN)
    wait_applied(api, "g-base")
    later = {
        "household_gigabit_coverage_pct": 90,  # the same value: unchanged
        "user_5g_share_pct": 31.5,  # a new value on a later as_of: updated
        "bs_5g_per_10k": 20.0,  # never reported: created
    }
    body = gigabit_report(later, as_of="2024-07-14", report_id="g-later")
    stored_before = redis_client.hgetall(names.city_indicators_key("jinan"))
    answer = submit(api, "jinan", "gigabit", body, JINAN, dry_run="true")
    assert answer.status_code == 200, answer.text
    preview = answer.json()["summary"]
    assert preview == {"created": 1, "updated": 1, "unchanged": 1}
    assert redis_client.hgetall(names.city_indicators_key("jinan")) == stored_before
    # an older as_of never wins: all unchanged
    older = gigabit_report({"user_5g_share_pct": 50.0}, as_of="2024-07-01", report_id="g-old")
    old_preview = submit(api, "jinan", "gigabit", older, JINAN, dry_run="true").json()["summary"]
    assert old_preview == {"created": 0, "updated": 0, "unchanged": 1}

    submit(api, "jinan", "gigabit", body, JINAN)
    applied = wait_applied(api, "g-later")
    assert {k: applied["summary"][k] for k in ("created", "updated", "unchanged")} == preview


def test_a_dry_run_of_an_invalid_report_returns_its_errors(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    response = submit(
        api, "jinan", "gigabit", gigabit_report({"fibre_km": 1}), JINAN, dry_run="true"
    )
    assert response.status_code == 422
    assert nothing_stored(redis_client)


@pytest.mark.parametrize("flag", ["maybe", ""])
def test_a_dry_run_flag_that_is_not_a_boolean_is_rejected_at_its_query_location(
    api: httpx.Client, redis_client: redis.Redis, flag: str
) -> None:
    body = gigabit_report({"household_gigabit_coverage_pct": 90.0})
    response = submit(api, "jinan", "gigabit", body, JINAN, dry_run=flag)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["loc"], error["code"]) == (["query", "dry_run"], "bool_parsing")
    assert nothing_stored(redis_client)
    # The token is checked first: a stranger learns nothing about the flag.
    assert submit(api, "jinan", "gigabit", body, {}, dry_run=flag).status_code == 401


@pytest.mark.parametrize("flag", ["1", "yes", "TRUE", "on"])
def test_a_dry_run_flag_takes_the_usual_spellings_of_true(
    api: httpx.Client, redis_client: redis.Redis, flag: str
) -> None:
    body = gigabit_report({"household_gigabit_coverage_pct": 90.0})
    response = submit(api, "jinan", "gigabit", body, JINAN, dry_run=flag)
    assert response.status_code == 200, response.text
    assert response.json()["dry_run"] is True
    assert nothing_stored(redis_client)


# Authentication and authorization -------------------------------------------------------------

AUTH_CASES = [
    ("no token", {}, "jinan", 401),
    ("unknown token", bearer("not-a-token"), "jinan", 401),
    ("basic auth", {"Authorization": "Basic dXNlcjpwYXNz"}, "jinan", 401),
    ("city token for another city", QINGDAO, "jinan", 403),
    ("viewer writing", VIEWER, "jinan", 403),
    ("city token for its own city", JINAN, "jinan", 202),
    ("admin for any city", ADMIN, "heze", 202),
]


@pytest.mark.parametrize(
    ("headers", "city", "status"), [c[1:] for c in AUTH_CASES], ids=[c[0] for c in AUTH_CASES]
)
def test_who_may_write_which_city(
    api: httpx.Client, redis_client: redis.Redis, headers: dict[str, str], city: str, status: int
) -> None:
    response = submit(api, city, "gigabit", gigabit_report({"user_5g_share_pct": 40}), headers)
    assert response.status_code == status
    if status >= 400:
        assert response.json()["errors"][0]["code"] in {"unauthenticated", "forbidden"}
        assert nothing_stored(redis_client)


def test_any_valid_token_reads_reports_and_progress(api: httpx.Client) -> None:
    report_id = submit(
        api, "jinan", "gigabit", gigabit_report({"user_5g_share_pct": 40}), JINAN
    ).json()["report_id"]
    for headers in (VIEWER, QINGDAO, ADMIN):
        assert api.get(f"/v1/cities/jinan/reports/{report_id}", headers=headers).status_code == 200
        assert api.get("/v1/progress", headers=headers).status_code == 200
        assert api.get("/v1/cities/jinan/progress", headers=headers).status_code == 200
    assert api.get("/v1/progress").status_code == 401
    assert api.get("/v1/reports/nope", headers=VIEWER).status_code == 404


# Reading back ---------------------------------------------------------------------------------


def test_a_late_report_with_an_older_as_of_is_applied_but_changes_nothing(
    api: httpx.Client,
) -> None:
    newer = gigabit_report(
        {"household_gigabit_coverage_pct": 92.0}, as_of="2024-07-12", report_id="newer"
    )
    older = gigabit_report(
        {"household_gigabit_coverage_pct": 70.0}, as_of="2024-07-05", report_id="older"
    )
    submit(api, "jinan", "gigabit", newer, JINAN)
    wait_applied(api, "newer")
    submit(api, "jinan", "gigabit", older, JINAN)
    record = wait_applied(api, "older")
    assert record["summary"] == {"created": 0, "updated": 0, "unchanged": 1}
    indicator = api.get("/v1/cities/jinan/progress", headers=VIEWER).json()["programs"][
        "gigabit-2024"
    ]["indicators"]["household_gigabit_coverage_pct"]
    assert (indicator["value"], indicator["as_of"], indicator["passing"]) == (
        92.0,
        "2024-07-12",
        True,
    )


def test_a_decommissioned_site_leaves_the_in_service_count(api: httpx.Client) -> None:
    submit(api, "jinan", "5g-sites", sites_report(site("JN-1"), site("JN-2"), report_id="a"), JINAN)
    wait_applied(api, "a")
    submit(
        api,
        "jinan",
        "5g-sites",
        sites_report(site("JN-2", status="decommissioned"), as_of="2024-07-12", report_id="b"),
        JINAN,
    )
    assert wait_applied(api, "b")["summary"] == {"created": 0, "updated": 1, "unchanged": 0}
    progress = api.get("/v1/cities/jinan/progress", headers=VIEWER).json()
    assert progress["sites_in_service"] == 18128 + 1
    assert progress["programs"]["5g-2025"]["actual"] == 1


def test_errors_are_json_for_unknown_routes(api: httpx.Client) -> None:
    response = api.get("/v1/nothing-here", headers=ADMIN)
    assert response.status_code == 404
    assert json.loads(response.text)["errors"][0]["code"] == "not_found"


# Redis outage -----------------------------------------------------------------------------------


def test_redis_down_is_a_fast_503_and_recovery_needs_no_restart(
    tmp_path: Path, tokens_file: Path
) -> None:
    server = RedisServer(tmp_path / "redis").start()
    ingest = Service(
        "ingest",
        {
            "PACER_REDIS_URL": server.url,
            "PACER_TOKENS_FILE": str(tokens_file),
            "PACER_CLOCK": "fixed:2024-07-15T12:00:00+08:00",
        },
        tmp_path / "ingest.log",
    )
    try:
        ingest.start()
        with httpx.Client(base_url=ingest.url, timeout=10) as api:
            assert (
                submit(
                    api,
                    "jinan",
                    "gigabit",
                    gigabit_report({"user_5g_share_pct": 40}, report_id="before"),
                    JINAN,
                ).status_code
                == 202
            )
            server.stop()
            body = gigabit_report({"user_5g_share_pct": 41}, report_id="during")
            response = submit(api, "jinan", "gigabit", body, JINAN)
            assert response.status_code == 503
            assert response.elapsed.total_seconds() < 2
            assert response.headers["Retry-After"]
            assert response.json()["errors"][0]["code"] == "storage_unavailable"
            # readiness shares one PING among the checks of half a second (shared/health.py),
            # so it may say what it saw up to that long ago
            wait_until(lambda: api.get("/readyz").status_code == 503, timeout=1.5)
            server.start()
            retried = submit(api, "jinan", "gigabit", body, JINAN)
            assert retried.status_code == 202
            wait_until(lambda: api.get("/readyz").status_code == 200, timeout=1.5)
    finally:
        ingest.stop()
        server.stop()


def test_the_ingest_exports_request_metrics_by_route_template(api: httpx.Client) -> None:
    submit(api, "jinan", "gigabit", gigabit_report({"user_5g_share_pct": 40}), JINAN)
    submit(api, "jinan", "gigabit", gigabit_report({"fibre_km": 1}), JINAN)
    body = api.get("/metrics").text
    samples = parse_samples(body)
    route = "/v1/cities/{city}/reports/gigabit"
    accepted = value(samples, "pacer_http_requests_total", method="POST", route=route, status="202")
    rejected = value(samples, "pacer_http_requests_total", method="POST", route=route, status="422")
    assert accepted >= 1
    assert rejected >= 1
    assert "pacer_http_request_duration_seconds_bucket" in body
    assert "_created" not in body
    assert promtool_check_metrics(body).returncode == 0


def test_a_method_a_client_invents_is_counted_as_other_not_as_a_new_series(
    api: httpx.Client,
) -> None:
    for invented in ("FROB", "X-EXFIL-1", "X-EXFIL-2"):
        assert api.request(invented, "/v1/progress", headers=JINAN).status_code in (401, 405)
    samples = parse_samples(api.get("/metrics").text)
    methods = {dict(labels)["method"] for labels in samples["pacer_http_requests_total"]}
    assert "other" in methods
    assert not methods & {"FROB", "X-EXFIL-1", "X-EXFIL-2"}


def test_a_burst_of_more_requests_than_redis_connections_waits_for_one_rather_than_failing(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    burst = 150  # the ingest keeps at most 100 connections to Redis
    senders = [JINAN, ADMIN]  # half each, well inside each token's rate limit

    async def send_all() -> list[int]:
        limits = httpx.Limits(max_connections=burst)
        async with httpx.AsyncClient(base_url=api.base_url, timeout=15, limits=limits) as client:
            answers = await asyncio.gather(
                *(
                    client.post(
                        "/v1/cities/jinan/reports/gigabit",
                        json=gigabit_report({"user_5g_share_pct": 40}, report_id=f"burst-{i}"),
                        headers=senders[i % len(senders)],
                    )
                    for i in range(burst)
                )
            )
        return [answer.status_code for answer in answers]

    # Writes paused for a second: each accept script waits inside Redis holding its connection,
    # so the burst needs more connections than the pool has.
    redis_client.execute_command("CLIENT", "PAUSE", "1000", "WRITE")
    statuses = asyncio.run(send_all())

    assert statuses == [202] * burst
    assert len(redis_client.keys(names.report_key("*", "burst-*"))) == burst
