"""Schemathesis against a real ingest: no request it can make gets a 5xx or an undeclared answer.

The generated cases come from the OpenAPI document the running ingest publishes, so the document
is under test as much as the handlers: a status, header or body the app really returns but does
not declare fails here, as does any 5xx. Positive cases (valid by the schema) and negative ones
(breaking it: wrong types, missing fields, bad content types) both run, as do each operation
without a token and with a wrong one (must be 401) and with methods it lacks (405 whose Allow
lists the methods the path has).

Schemathesis runs as its CLI in a subprocess: its pytest plugin's lazy loader does not work with
this pytest, and the CLI prints each failing case with a curl line that reproduces it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, CITY_TOKENS
from tests.support.metrics import parse_samples
from tests.support.processes import RedisServer, Service, ingest_running
from tests.support.reports import bearer, gigabit_report

CITY = "jinan"
MAX_EXAMPLES = 100
MIN_SERVED = 40
"""Fuzzed requests answered 2xx (about 120 in a run here): fewer means most never got past
authentication or validation, and the run proved little."""
"""Per operation and phase: the run takes 15-35 s on two busy cores (300: about a minute)."""
TIME_BUDGET_S = 150


def fuzz_config(report_id: str, subscription_id: str) -> str:
    """schemathesis.toml: every operation is called as a user who may do it (a city officer
    writes its own city, the admin manages subscriptions); anything else would stop at 401/403
    before the handler. ``city`` is pinned for the same reason: other cities are 403 for this
    token, and unknown ones a 404 that tests/integration/test_ingest.py covers; so is
    ``program`` (an id of the targets file: any other is the 422 that
    tests/integration/test_history_api.py covers); the admin
    releases site ids (all unknown here: 404). The ids are of a
    stored report and subscription, so reads answer 200 with a body to check, not only 404."""
    return f"""
request-timeout = 10.0
continue-on-failure = true

[headers]
Authorization = "Bearer {CITY_TOKENS[CITY]}"

[parameters]
city = "{CITY}"
program = "5g-2025"
report_id = "{report_id}"
subscription_id = "{subscription_id}"

[generation]
max-examples = {MAX_EXAMPLES}
mode = "all"
database = "none"

# The schema declares no links between operations, so there is nothing to chain.
[phases.stateful]
enabled = false

# A body over PACER_MAX_BODY_BYTES is refused with 413 whatever it holds: a rejection.
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "429"]

# Valid by the schema is not valid by the contract: a period in the future, an as_of outside its
# period, a site id twice or registered to another city, an unknown indicator or programme are
# 422s that JSON Schema cannot say (they depend on "now", the targets file or stored state), and
# any body can outgrow the size limit. Still an error here: 400, 405, 415 for a valid request.
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "413", "422", "429"]

[[operations]]
include-path-regex = "^/v1/(subscriptions|sites/)"
headers = {{ Authorization = "Bearer {ADMIN_TOKEN}" }}
"""


@pytest.fixture(scope="module")
def ingest(
    redis_server: RedisServer, tokens_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    env = {
        "PACER_MAX_BODY_BYTES": str(256 * 1024),
        # Thousands of requests from one token: fuzzing is not what the rate limit is for.
        "PACER_RATE_LIMIT_RPS": "100000",
        "PACER_RATE_LIMIT_BURST": "100000",
    }
    log_dir = tmp_path_factory.mktemp("fuzz")
    with ingest_running(redis_server.url, tokens_file, log_dir, **env) as service:
        yield service


def test_no_request_gets_a_server_error_or_an_undeclared_response(
    ingest: Service, tmp_path: Path
) -> None:
    with httpx.Client(base_url=ingest.url, timeout=10) as api:
        report = api.post(
            f"/v1/cities/{CITY}/reports/gigabit",
            json=gigabit_report({"user_5g_share_pct": 40}, report_id="fuzz-seed"),
            headers=bearer(CITY_TOKENS[CITY]),
        )
        subscription = api.post(
            "/v1/subscriptions",
            json={"url": "https://ops.example/hook", "secret": "a-long-shared-secret-0001"},
            headers=bearer(ADMIN_TOKEN),
        )
    assert (report.status_code, subscription.status_code) == (202, 201)
    config = tmp_path / "schemathesis.toml"
    config.write_text(fuzz_config(report.json()["report_id"], subscription.json()["id"]))
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{ingest.url}/openapi.json",
        "--workers",
        "1",
    ]
    # cwd: schemathesis and hypothesis leave caches in the working directory, not in the repo.
    result = subprocess.run(
        command,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIME_BUDGET_S,
        check=False,
    )
    assert result.returncode == 0, (
        f"schemathesis found problems (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
    )
    # Only fuzzing that gets past authentication and validation reaches the handlers' code.
    served = answered_2xx(ingest) - 2  # the two seeds above
    assert served >= MIN_SERVED, f"only {served} fuzzed requests were served:\n{result.stdout}"


def answered_2xx(ingest: Service) -> int:
    requests = parse_samples(httpx.get(f"{ingest.url}/metrics", timeout=10).text)
    return int(
        sum(
            count
            for labels, count in requests["pacer_http_requests_total"].items()
            if dict(labels)["status"].startswith("2") and dict(labels)["route"].startswith("/v1/")
        )
    )
