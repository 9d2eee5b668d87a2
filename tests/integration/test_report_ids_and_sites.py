"""Report ids per city, the city's report list, site owners, the site ceiling and the release of a
site id (contract §3, issue 11), on a real ingest, aggregator and Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import yaml

from shared import names
from shared.targets import DEFAULT_TARGETS_FILE
from tests.conftest import ADMIN_TOKEN, CITY_TOKENS, VIEWER_TOKEN
from tests.support import sites as stored_sites
from tests.support.processes import RedisServer, Service, running, wait_until
from tests.support.reports import bearer, gigabit_report, site, sites_report

JINAN = bearer(CITY_TOKENS["jinan"])
QINGDAO = bearer(CITY_TOKENS["qingdao"])
ADMIN = bearer(ADMIN_TOKEN)
VIEWER = bearer(VIEWER_TOKEN)
MAX_SITES = 5
OLD_RECORD = {  # as Pacer before v2 stored it, at pacer:report:<id>
    "report_id": "jinan-5g-2024-05",
    "city": "jinan",
    "kind": "5g-sites",
    "status": "applied",
    "received_at": "2024-06-03T09:00:00+08:00",
    "fingerprint": "f",
    "entry_id": "1-0",
}


@pytest.fixture(scope="module")
def pacer(
    redis_server: RedisServer, tokens_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Service, dict[str, str]]]:
    """An ingest and an aggregator with a ceiling of 5 sites per city, started on a store that
    holds a pre-v2 record; with it, that record's key right after the start."""
    workdir = tmp_path_factory.mktemp("pacer")
    targets = yaml.safe_load(DEFAULT_TARGETS_FILE.read_text(encoding="utf-8"))
    targets["limits"] = {"max_sites_per_city": MAX_SITES}
    (workdir / "targets.yaml").write_text(yaml.safe_dump(targets, allow_unicode=True))
    env = {
        "PACER_REDIS_URL": redis_server.url,
        "PACER_TOKENS_FILE": str(tokens_file),
        "PACER_TARGETS_FILE": str(workdir / "targets.yaml"),
        # advancing, so that each report is received later than the one before
        "PACER_CLOCK": "offset:2024-07-15T12:00:00+08:00",
    }
    client = redis.Redis(port=redis_server.port, decode_responses=True)
    client.flushall()
    client.hset(names.legacy_report_key(OLD_RECORD["report_id"]), mapping=OLD_RECORD)
    ingest = Service("ingest", env, workdir / "ingest.log")
    aggregator = Service("aggregator", env, workdir / "aggregator.log")
    with running(ingest, aggregator):
        upgraded = client.hgetall(names.report_key("jinan", OLD_RECORD["report_id"]))
        client.close()
        yield ingest, upgraded


@pytest.fixture
def api(pacer: tuple[Service, dict[str, str]], redis_client: redis.Redis) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=pacer[0].url, timeout=10) as client:
        yield client


def submit(
    api: httpx.Client, city: str, kind: str, body: Any, headers: dict[str, str], **params: str
) -> httpx.Response:
    return api.post(f"/v1/cities/{city}/reports/{kind}", json=body, headers=headers, params=params)


def wait_applied(api: httpx.Client, city: str, report_id: str) -> None:
    path = f"/v1/cities/{city}/reports/{report_id}"
    wait_until(lambda: api.get(path, headers=ADMIN).json()["status"] == "applied", timeout=10)


def test_the_services_move_an_older_pacers_records_under_their_city_at_start(
    pacer: tuple[Service, dict[str, str]],
) -> None:
    assert pacer[1] == OLD_RECORD


def test_the_same_id_from_two_cities_is_two_reports_each_read_by_its_own_city(
    api: httpx.Client,
) -> None:
    jinan_body = gigabit_report({"user_5g_share_pct": 40}, report_id="x")
    qingdao_body = gigabit_report({"user_5g_share_pct": 61}, report_id="x")

    jinan = submit(api, "jinan", "gigabit", jinan_body, JINAN)
    qingdao = submit(api, "qingdao", "gigabit", qingdao_body, QINGDAO)

    assert (jinan.status_code, qingdao.status_code) == (202, 202)
    assert jinan.headers["Location"] == "/v1/cities/jinan/reports/x"
    assert qingdao.headers["Location"] == "/v1/cities/qingdao/reports/x"
    assert submit(api, "jinan", "gigabit", jinan_body, JINAN).json()["status"] == "duplicate"
    for city, token in (("jinan", JINAN), ("qingdao", QINGDAO)):
        assert api.get("/v1/reports/x", headers=token).json()["city"] == city
        for reader in (JINAN, QINGDAO, VIEWER):  # any token reads any city's report
            canonical = api.get(f"/v1/cities/{city}/reports/x", headers=reader)
            assert canonical.json()["city"] == city
    for reader in (ADMIN, VIEWER):
        ambiguous = api.get("/v1/reports/x", headers=reader)
        assert ambiguous.status_code == 409
        assert ambiguous.json()["cities"] == ["jinan", "qingdao"]
        assert ambiguous.json()["errors"][0]["code"] == "report_in_several_cities"


def test_a_city_token_cannot_tell_whether_another_city_used_an_id(api: httpx.Client) -> None:
    before = api.get("/v1/reports/jinan-only", headers=QINGDAO)
    body = sites_report(report_id="jinan-only")
    assert submit(api, "jinan", "5g-sites", body, JINAN).status_code == 202

    after = api.get("/v1/reports/jinan-only", headers=QINGDAO)

    assert (before.status_code, before.json()) == (after.status_code, after.json())
    assert after.status_code == 404
    assert api.get("/v1/reports/jinan-only", headers=ADMIN).json()["city"] == "jinan"
    # and the same id is free for Qingdao
    assert submit(api, "qingdao", "5g-sites", body, QINGDAO).status_code == 202


def test_a_citys_reports_are_listed_newest_first_a_page_at_a_time(api: httpx.Client) -> None:
    for n in range(5):
        body = gigabit_report({"user_5g_share_pct": 40 + n}, report_id=f"r-{n}")
        assert submit(api, "jinan", "gigabit", body, JINAN).status_code == 202
    other_city = gigabit_report({"user_5g_share_pct": 50})
    assert submit(api, "qingdao", "gigabit", other_city, QINGDAO).status_code == 202

    def page(**params: Any) -> tuple[list[str], str | None]:
        response = api.get("/v1/cities/jinan/reports", headers=QINGDAO, params=params)
        assert response.status_code == 200, response.text
        listed = response.json()
        assert all(r["city"] == "jinan" and r["status"] for r in listed["reports"])
        return [r["report_id"] for r in listed["reports"]], listed.get("next_before")

    assert page() == (["r-4", "r-3", "r-2", "r-1", "r-0"], None)
    assert page(limit=2) == (["r-4", "r-3"], "r-3")
    assert page(limit=2, before="r-3") == (["r-2", "r-1"], "r-1")
    assert page(limit=2, before="r-1") == (["r-0"], None)
    for bad in ({"limit": 0}, {"limit": 501}, {"before": "nope"}, {"before": "bad id!"}):
        refused = api.get("/v1/cities/jinan/reports", headers=JINAN, params=bad)
        assert refused.status_code == 422, bad
        assert refused.json()["errors"][0]["loc"] == ["query", next(iter(bad))]
    assert api.get("/v1/cities/laiwu/reports", headers=JINAN).status_code == 404


def test_a_report_that_would_take_the_city_past_its_site_ceiling_is_refused(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    held = [site(f"JN-{n}") for n in range(3)]
    assert submit(api, "jinan", "5g-sites", sites_report(*held, report_id="a"), JINAN).status_code
    wait_applied(api, "jinan", "a")
    over = sites_report(*held[:1], *(site(f"JN-NEW-{n}") for n in range(3)), report_id="b")

    for params in ({}, {"dry_run": "true"}):
        refused = submit(api, "jinan", "5g-sites", over, JINAN, **params)
        assert refused.status_code == 422
        assert refused.json()["errors"] == [
            {
                "loc": ["body", "sites"],
                "code": "site_limit_exceeded",
                "message": "the report would register 3 new site ids; the city holds 3 of at "
                "most 5 (limits.max_sites_per_city in the targets file)",
            }
        ]
    assert not redis_client.exists(names.report_key("jinan", "b"))
    # up to the ceiling, and sites it already holds do not count again
    fits = sites_report(*held, site("JN-NEW-0"), site("JN-NEW-1"), report_id="c")
    assert submit(api, "jinan", "5g-sites", fits, JINAN).status_code == 202
    wait_applied(api, "jinan", "c")
    assert stored_sites.registered(redis_client, "jinan") == MAX_SITES


def test_an_admin_releases_a_site_id_and_another_city_may_then_register_it(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    body = sites_report(site("SQUAT-1"), site("JN-KEEP"), report_id="squat")
    assert submit(api, "jinan", "5g-sites", body, JINAN).status_code == 202
    wait_applied(api, "jinan", "squat")
    in_service = sum(map(int, redis_client.hvals(names.city_site_days_key("jinan"))))
    qingdao_body = sites_report(site("SQUAT-1", lat=36.07, lon=120.38), report_id="mine")
    blocked = submit(api, "qingdao", "5g-sites", qingdao_body, QINGDAO)
    assert blocked.json()["errors"][0]["code"] == "site_registered_elsewhere"

    for caller in (JINAN, QINGDAO, VIEWER):
        assert api.post("/v1/sites/SQUAT-1/release", headers=caller).status_code == 403
    released = api.post("/v1/sites/SQUAT-1/release", headers=ADMIN)

    assert released.status_code == 200
    assert released.json() == {
        "site_id": "SQUAT-1",
        "former_owner": "jinan",
        "was_in_service": True,
    }
    assert api.post("/v1/sites/SQUAT-1/release", headers=ADMIN).status_code == 404
    assert sum(map(int, redis_client.hvals(names.city_site_days_key("jinan")))) == in_service - 1
    assert stored_sites.registered(redis_client, "jinan") == 1
    assert submit(api, "qingdao", "5g-sites", qingdao_body, QINGDAO).status_code == 202
    wait_applied(api, "qingdao", "mine")
    assert stored_sites.owner(redis_client, "SQUAT-1") == "qingdao"
