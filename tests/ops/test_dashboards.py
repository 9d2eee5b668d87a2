"""deploy/grafana: the dashboards are the generator's output, structurally sound for Grafana 11.6,
provisioned where docker-compose mounts them, and every panel's PromQL parses (promtool) and
returns data from a real Prometheus that scraped a real Pacer fed with reports for all 16 cities.

There is no Grafana here, so the live test substitutes Grafana's variables itself ($city -> a
city, $__rate_interval -> 1m, ...) and runs each panel's expression as an instant query.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml

from shared.domain.plan import ALL_STATUSES
from tests.conftest import ADMIN_TOKEN
from tests.support.processes import REPO_ROOT, RedisServer, Service, require_binary, wait_until
from tests.support.prometheus import JOBS, Prometheus, scrape_config
from tests.support.reports import bearer, gigabit_report, site, sites_report
from tests.support.webhooks import WebhookReceiver

GRAFANA = REPO_ROOT / "deploy" / "grafana"
DASHBOARDS = GRAFANA / "dashboards"
DATASOURCES_FILE = GRAFANA / "provisioning" / "datasources" / "pacer.yml"
PROVIDERS_FILE = GRAFANA / "provisioning" / "dashboards" / "pacer.yml"
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DASHBOARDS_MOUNT = "/var/lib/grafana/dashboards/pacer"

STABLE_UIDS = {"pacer-province", "pacer-city", "pacer-pipeline"}
DATASOURCE = {"type": "prometheus", "uid": "pacer-prometheus"}
CITIES = (
    "jinan", "qingdao", "zibo", "zaozhuang", "dongying", "yantai", "weifang", "jining",
    "taian", "weihai", "rizhao", "linyi", "dezhou", "liaocheng", "binzhou", "heze",
)  # fmt: skip
CITY = "jinan"  # the city the City dashboard is checked with
OVERDUE_CITY = "heze"  # its latest gigabit report is May's, so June's is overdue on NOW
NO_DATA_CITY = "binzhou"  # sends no gigabit report at all: no_data on gigabit-2024, and overdue
NOW = "2024-07-15T12:00:00+08:00"
# On NOW the latest month past due is June (due 2024-07-10): every city is judged at 2024-06-30,
# except CITY on the 5G programmes, whose July report (as_of 2024-07-12) moves it to that day.
FLOOR_DAY = "2024-06-30"
CITY_SITES_AS_OF = "2024-07-12"
# What Grafana puts in place of its built-in variables (the dashboard variables come from CITY).
GRAFANA_VARIABLES = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h"}

Json = dict[str, Any]


# --- reading the dashboards ---------------------------------------------------------------------


def load_generator() -> ModuleType:
    path = GRAFANA / "build_dashboards.py"
    spec = importlib.util.spec_from_file_location("build_dashboards", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


def dashboards() -> dict[str, Json]:
    """File name -> the dashboard JSON as committed."""
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*"))}


def panels(board: Json) -> Iterator[Json]:
    """Every panel, including those inside collapsed rows."""
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


class Expression(NamedTuple):
    uid: str
    panel_id: int
    title: str
    ref_id: str
    expr: str
    """As Grafana would send it: the variables substituted."""

    @property
    def where(self) -> str:
        return f"{self.uid} panel {self.panel_id} {self.title!r} {self.ref_id}"

    @property
    def record(self) -> str:
        """A recording-rule name that says where the expression comes from."""
        return f"dashboard:{self.uid.replace('-', '_')}:panel_{self.panel_id}_{self.ref_id}"


def expressions(board: Json) -> Iterator[Expression]:
    for panel in panels(board):
        for target in panel.get("targets", []):
            yield Expression(
                board["uid"],
                panel["id"],
                panel["title"],
                target["refId"],
                substitute(target["expr"]),
            )


def substitute(expr: str) -> str:
    values = GRAFANA_VARIABLES | {"city": CITY}

    def value(match: re.Match[str]) -> str:
        return values.get(match.group(1) or match.group(2), match.group(0))

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, expr)


def all_expressions() -> list[Expression]:
    return [expression for board in dashboards().values() for expression in expressions(board)]


def variable_query(variable: Json) -> str:
    query = variable.get("query")
    return str(query["query"] if isinstance(query, dict) else query or "")


# --- structure ----------------------------------------------------------------------------------


def test_the_committed_json_is_exactly_what_the_generator_writes() -> None:
    rendered = load_generator().render()
    committed = {path.name: path.read_text() for path in DASHBOARDS.glob("*")}
    assert committed.keys() == rendered.keys(), "run deploy/grafana/build_dashboards.py"
    for name, text in rendered.items():
        assert committed[name] == text, f"{name} is stale: run deploy/grafana/build_dashboards.py"


def test_dashboards_have_the_stable_uids_one_per_file_named_after_it() -> None:
    boards = dashboards()
    assert {board["uid"] for board in boards.values()} == STABLE_UIDS
    assert len(boards) == len(STABLE_UIDS)
    for name, board in boards.items():
        assert name == f"{board['uid']}.json"
        assert board["title"].startswith("Pacer · ")
        assert board["schemaVersion"] >= 39  # Grafana 11 JSON model
        assert "id" not in board  # provisioning assigns database ids; the uid is the identity


def test_panel_ids_are_unique_and_every_panel_and_target_names_the_pacer_datasource() -> None:
    for board in dashboards().values():
        ids = [panel["id"] for panel in panels(board)]
        assert len(ids) == len(set(ids)), board["uid"]
        for panel in panels(board):
            assert panel["datasource"] == DATASOURCE, (board["uid"], panel["id"])
            assert panel["title"], (board["uid"], panel["id"])
            if panel["type"] in ("row", "text"):
                continue
            assert panel["targets"], (board["uid"], panel["id"], "has no query")
            ref_ids = [target["refId"] for target in panel["targets"]]
            assert len(ref_ids) == len(set(ref_ids)), (board["uid"], panel["id"])
            for target in panel["targets"]:
                assert target["datasource"] == DATASOURCE, (board["uid"], panel["id"])
                assert target["expr"].strip(), (board["uid"], panel["id"])


def test_panels_lie_on_the_24_column_grid_without_overlapping() -> None:
    for board in dashboards().values():
        taken: set[tuple[int, int]] = set()
        for panel in board["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24, panel["id"]
            cells = {
                (x, y)
                for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])
            }
            assert not cells & taken, (board["uid"], panel["id"], "overlaps another panel")
            taken |= cells


def status_mappings(panel: Json) -> Iterator[set[str]]:
    """The raw values of each value mapping of the panel that maps a programme status."""
    config = panel.get("fieldConfig", {})
    mapping_lists = [config.get("defaults", {}).get("mappings", [])] + [
        prop["value"]
        for rule in config.get("overrides", [])
        for prop in rule["properties"]
        if prop["id"] == "mappings"
    ]
    statuses = {str(status) for status in ALL_STATUSES}
    for mappings in mapping_lists:
        for mapping in mappings:
            raw = set(mapping.get("options", {}))
            if raw & statuses:
                yield raw


def test_every_status_mapping_names_and_colours_every_status_pacer_exports() -> None:
    statuses = {str(status) for status in ALL_STATUSES}
    mapped = {
        (board["uid"], panel["title"]): list(status_mappings(panel))
        for board in dashboards().values()
        for panel in panels(board)
    }
    for where in [
        ("pacer-province", "Status per city and program"),
        ("pacer-city", "Status per program"),
    ]:
        assert mapped[where], f"{where} has no status mapping"
    for where, raws in mapped.items():
        for raw in raws:
            assert raw == statuses, f"{where} maps {sorted(raw)}, not {sorted(statuses)}"
    board = dashboards()["pacer-province.json"]
    (status_table,) = (p for p in panels(board) if p["title"] == "Status per city and program")
    (mapping,) = status_table["fieldConfig"]["defaults"]["mappings"]
    assert all(option["text"] and option["color"] for option in mapping["options"].values())


def test_every_template_variable_has_a_query_and_the_city_variable_lists_cities() -> None:
    variables = {
        board["uid"]: {v["name"]: v for v in board["templating"]["list"]}
        for board in dashboards().values()
    }
    for uid, by_name in variables.items():
        for name, variable in by_name.items():
            assert variable_query(variable), (uid, name)
            if variable["type"] == "query":
                assert variable["datasource"] == DATASOURCE, (uid, name)
    city = variables["pacer-city"]["city"]
    assert city["type"] == "query"
    assert variable_query(city) == "label_values(pacer_5g_sites_in_service, city)"
    assert not city["multi"] and not city["includeAll"]  # every panel selects one city


def test_provisioning_points_grafana_at_pacers_prometheus_and_the_mounted_dashboards() -> None:
    (datasource,) = yaml.safe_load(DATASOURCES_FILE.read_text())["datasources"]
    assert datasource["uid"] == DATASOURCE["uid"]
    assert datasource["type"] == DATASOURCE["type"]
    assert datasource["url"] == "http://prometheus:9090"
    (provider,) = yaml.safe_load(PROVIDERS_FILE.read_text())["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == DASHBOARDS_MOUNT

    # docker-compose mounts exactly these directories where the provisioning files say.
    grafana = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["grafana"]
    assert grafana["image"] == "grafana/grafana:11.6.0"
    mounts = {volume.split(":")[0]: volume.split(":")[1] for volume in grafana["volumes"]}
    assert mounts["./deploy/grafana/dashboards"] == DASHBOARDS_MOUNT
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"


# --- PromQL syntax ------------------------------------------------------------------------------


def test_every_panel_expression_parses(tmp_path: Path) -> None:
    """Each expression, as Grafana would send it, is a recording rule ``promtool`` accepts."""
    promtool = require_binary("promtool")
    rules = [{"record": e.record, "expr": e.expr} for e in all_expressions()]
    assert len(rules) > 30
    rules_file = tmp_path / "dashboard-expressions.yml"
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(rules_file)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    leftover = [e.where for e in all_expressions() if re.search(r"\$\{?[A-Za-z_]", e.expr)]
    assert not leftover, f"a variable the test does not know: {leftover}"


# --- data from a real Prometheus scraping a real Pacer ------------------------------------------


def post_report(api: httpx.Client, city: str, kind: str, body: Json) -> str:
    response = api.post(f"/v1/cities/{city}/reports/{kind}", json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["report_id"])


def sites_june(index: int, city: str) -> Json:
    sites = [site(f"{city}-{n:04d}", commissioned_on="2024-06-05") for n in range(10 + 3 * index)]
    return sites_report(*sites, period="2024-06", as_of="2024-06-30", report_id=f"{city}-5g-06")


def sites_july(city: str) -> Json:
    """A report of no new site, as of a day after June's: the city's judgement day moves to it."""
    return sites_report(period="2024-07", as_of=CITY_SITES_AS_OF, report_id=f"{city}-5g-07")


def gigabit(index: int, city: str) -> Json:
    month, as_of = ("2024-05", "2024-05-31") if city == OVERDUE_CITY else ("2024-06", "2024-06-30")
    indicators = {
        "household_gigabit_coverage_pct": 70 + 3 * index,  # fails for the first few cities
        "pon_10g_port_share_pct": 30,
        "key_location_5g_reach_pct": 85,
        "bs_5g_per_10k": 20,
        "bb_500m_user_share_pct": 24 + index,  # fails for the first few cities
        "bb_1000m_users": 100_000 + 1_000 * index,
        "user_5g_share_pct": 40,
    }
    return gigabit_report(indicators, period=month, as_of=as_of, report_id=f"{city}-gig-{month}")


def feed(api: httpx.Client, reports: list[tuple[str, str, Json]]) -> None:
    """Posts the reports, plus one rejected report (a 4xx), and waits until all are applied."""
    ids = [post_report(api, city, kind, body) for city, kind, body in reports]
    future = gigabit_report({"user_5g_share_pct": 40}, period="2099-01", as_of="2099-01-10")
    rejected = api.post(f"/v1/cities/{CITY}/reports/gigabit", json=future)
    assert rejected.status_code == 422, rejected.text

    def applied() -> bool:
        return all(api.get(f"/v1/reports/{rid}").json()["status"] == "applied" for rid in ids)

    wait_until(applied, timeout=20, interval=0.2)


def finite_values(rows: list[Json]) -> list[float]:
    return [value for row in rows if math.isfinite(value := float(row["value"][1]))]


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory, tokens_file: Path) -> Iterator[Prometheus]:
    """A Prometheus that scrapes a running Pacer (Redis, the four services) with the repo's rules.

    Pacer is fed in two waves so that counters and histograms grow while Prometheus watches
    (rates and quantiles need two different samples), and a webhook subscriber makes the
    delivery metrics move.
    """
    directory = tmp_path_factory.mktemp("dashboards")
    with contextlib.ExitStack() as cleanup:
        redis_server = RedisServer(directory / "redis").start()
        cleanup.callback(redis_server.stop)
        env = {
            "PACER_REDIS_URL": redis_server.url,
            "PACER_TOKENS_FILE": str(tokens_file),
            "PACER_CLOCK": f"fixed:{NOW}",
            "PACER_EVAL_INTERVAL": "1",
            "PACER_RESOLVE_HOLD": "0",  # the reports resolve "overdue" at once
            "PACER_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",  # the receiver is on loopback
        }
        services = {
            name: Service(name, env, directory / f"{name}.log")
            for name in ("ingest", "aggregator", "alerting", "exporter")
        }
        for service in services.values():
            service.start(wait=False)
            cleanup.callback(service.stop)
        config = scrape_config({f"pacer-{name}": s.port for name, s in services.items()})
        assert {job["job_name"] for job in config["scrape_configs"]} == set(JOBS)
        server = cleanup.enter_context(Prometheus(directory / "prometheus", config))
        receiver = cleanup.enter_context(WebhookReceiver())
        for service in services.values():
            service.wait_ready()
        api = cleanup.enter_context(
            httpx.Client(base_url=services["ingest"].url, headers=bearer(ADMIN_TOKEN), timeout=10)
        )
        # The delivery histogram's empty series must be in Prometheus before the first delivery:
        # a series first seen after its only increase has no rate, and deliveries are quick.
        server.wait_for_data('pacer_webhook_delivery_seconds_count{job="pacer-alerting"}')
        subscription = {"url": receiver.url, "secret": "s" * 24, "filters": {"cities": [CITY]}}
        assert api.post("/v1/subscriptions", json=subscription).status_code == 201

        june = [(city, "5g-sites", sites_june(i, city)) for i, city in enumerate(CITIES)]
        feed(api, [*june, (CITY, "5g-sites", sites_july(CITY))])
        # The first wave's histogram series are in Prometheus before the second wave grows them.
        server.wait_for_data(
            'faststream_received_processed_messages_duration_seconds_count{job="pacer-aggregator"}'
        )
        server.wait_for_data('pacer_http_request_duration_seconds_count{route=~"/v1/.*"}')
        gigabit_reports = [
            (city, "gigabit", gigabit(i, city))
            for i, city in enumerate(CITIES)
            if city != NO_DATA_CITY
        ]
        feed(api, gigabit_reports)

        wait_until(lambda: receiver.received, timeout=20)
        server.wait_for_data("count(pacer_report_last_received_timestamp_seconds) == 31")
        # Before the reports all 32 (city, kind) pairs are overdue; after, heze's and binzhou's
        # gigabit.
        server.wait_for_data('sum(pacer_alerts_firing{alertname="ReportOverdue"}) == 2')
        server.wait_for_data('pacer_webhook_deliveries_total{outcome="delivered"} > 0')
        yield server


def test_every_panel_expression_returns_data_from_a_prometheus_that_scraped_pacer(
    prometheus: Prometheus,
) -> None:
    # Rates and quantiles need a scrape or two after the last report: poll for a few seconds.
    # Some 70 queries a round: in parallel, as Grafana sends a dashboard's, or a round takes
    # seconds on a loaded machine.
    pending = {e.where: e.expr for e in all_expressions()}
    deadline = time.monotonic() + 15
    with ThreadPoolExecutor(max_workers=4) as pool:
        while pending and time.monotonic() < deadline:
            answers = pool.map(prometheus.query, pending.values())
            pending = {
                w: e
                for (w, e), rows in zip(pending.items(), answers, strict=True)
                if not finite_values(rows)
            }
            time.sleep(0.5 if pending else 0)
    assert not pending, "no finite value:\n" + "\n".join(f"{w}: {e}" for w, e in pending.items())


def test_the_city_variable_resolves_to_the_16_cities(prometheus: Prometheus) -> None:
    (city,) = (
        v for v in dashboards()["pacer-city.json"]["templating"]["list"] if v["name"] == "city"
    )
    metric = re.fullmatch(r"label_values\((\w+), city\)", variable_query(city))
    assert metric is not None
    response = httpx.get(
        f"{prometheus.url}/api/v1/label/city/values",
        params={"match[]": metric.group(1)},
        timeout=10,
    )
    assert sorted(response.json()["data"]) == sorted(CITIES)


def panel_query(prometheus: Prometheus, uid: str, title: str, ref_id: str = "A") -> list[Json]:
    (board,) = (board for board in dashboards().values() if board["uid"] == uid)
    (panel,) = (panel for panel in panels(board) if panel["title"] == title)
    (target,) = (target for target in panel["targets"] if target["refId"] == ref_id)
    return prometheus.query(substitute(target["expr"]))


def values(rows: list[Json]) -> list[float]:
    return [float(row["value"][1]) for row in rows]


def test_the_panels_show_the_numbers_pacer_was_fed(prometheus: Prometheus) -> None:
    """Spot checks: the right numbers, not merely some series."""
    province = "pacer-province"
    new_sites = sum(10 + 3 * index for index in range(16))
    burn_up = "Province 5G new sites vs plan (5g-2025)"
    assert values(panel_query(prometheus, province, burn_up)) == [new_sites]
    assert values(panel_query(prometheus, province, burn_up, "C")) == [70_000]  # the target
    attainment = values(panel_query(prometheus, province, "5g-2025 attainment per city"))
    assert len(attainment) == 16 and attainment == sorted(attainment)  # worst first
    status = panel_query(prometheus, province, "Status per city and program")
    assert len(status) == 16 * 3  # one current status per city and program
    matrix = panel_query(prometheus, province, "Gigabit matrix: pass/fail by city and indicator")
    assert len(matrix) == 16 * 6  # every city x every thresholded indicator
    assert values(panel_query(prometheus, province, "Reports overdue")) == [2]  # gigabit

    jinan_baseline = 18128  # contract §1
    in_service = values(panel_query(prometheus, "pacer-city", "5G sites in service"))
    assert in_service == [jinan_baseline + 10]
    indicators = panel_query(prometheus, "pacer-city", "Indicators against thresholds")
    assert len(indicators) == 7  # every indicator jinan reported, bb_1000m_users included


def shanghai_ms(day: str) -> float:
    """00:00 of ``day`` in Asia/Shanghai, in milliseconds (what a date column holds)."""
    midnight = datetime.combine(
        date.fromisoformat(day), datetime.min.time(), ZoneInfo("Asia/Shanghai")
    )
    return midnight.timestamp() * 1000


def by_labels(rows: list[Json], *labels: str) -> dict[tuple[str, ...], float]:
    return {tuple(row["metric"][label] for label in labels): float(row["value"][1]) for row in rows}


def by_label(rows: list[Json], label: str) -> dict[str, float]:
    return {key: value for (key,), value in by_labels(rows, label).items()}


def test_the_panels_show_judgement_days_no_data_and_illustrative_targets(
    prometheus: Prometheus,
) -> None:
    """The v2 judgement as the dashboards show it: the day each city is judged on (as a date, not
    the end-of-day instant the gauge holds), a city without data, the unverified targets file."""
    province = "pacer-province"
    judged = by_labels(
        panel_query(prometheus, province, "Judgement day per city and program"), "city", "program"
    )
    programs = ("5g-2025", "5g-2027", "gigabit-2024")
    expected = {
        (city, program): shanghai_ms(
            CITY_SITES_AS_OF if (city, program[:2]) == (CITY, "5g") else FLOOR_DAY
        )
        for city in CITIES
        for program in programs
    }
    assert judged == expected
    city_days = by_label(
        panel_query(prometheus, "pacer-city", "Status per program", "B"), "program"
    )
    assert city_days == {p: expected[CITY, p] for p in programs}

    status = panel_query(prometheus, province, "Status per city and program")
    no_data = {
        (r["metric"]["city"], r["metric"]["program"])
        for r in status
        if r["metric"]["status"] == "no_data"
    }
    assert no_data == {(NO_DATA_CITY, "gigabit-2024")}
    without_data = by_label(panel_query(prometheus, province, "Cities with no data"), "program")
    assert without_data == {"5g-2025": 0, "5g-2027": 0, "gigabit-2024": 1}
    matrix = panel_query(prometheus, province, "Gigabit matrix: pass/fail by city and indicator")
    unreported = {row["metric"]["city"] for row in matrix if float(row["value"][1]) == -1}
    assert unreported == {NO_DATA_CITY}  # every other city reported all seven indicators

    targets = by_label(panel_query(prometheus, province, "Baselines and targets"), "program")
    assert targets == {"5g-2025": 0, "5g-2027": 0}  # the shipped file is illustrative

    latest_month = by_labels(
        panel_query(prometheus, province, "Latest report per city and kind", "C"), "city", "kind"
    )
    assert len(latest_month) == 16 * 2 - 1  # NO_DATA_CITY never sent a gigabit report
    assert latest_month[OVERDUE_CITY, "gigabit"] == shanghai_ms("2024-05-01")
    assert latest_month[CITY, "5g-sites"] == shanghai_ms("2024-07-01")
