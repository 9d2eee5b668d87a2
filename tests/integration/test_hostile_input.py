"""Hostile and limit payloads against a real ingest on a real redis-server.

Every case is a body a buggy or malicious client could send: at and just past each limit, deep
nesting, unusual unicode, numbers JSON can write but Pacer cannot mean, duplicate names, wrong
content types, bytes that are not UTF-8. A rejected one gets a 4xx whose every error has a
``loc``, a ``code`` and a ``message``, leaves nothing in Redis, and leaves the service serving
(with no traceback in its log). An accepted one is stored once, byte for byte as sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import redis

from shared import names
from tests.conftest import CITY_TOKENS
from tests.support.processes import RedisServer, Service, ingest_running
from tests.support.reports import bearer, gigabit_report, site, sites_report

JINAN = bearer(CITY_TOKENS["jinan"])
MAX_BODY_BYTES = 4 * 1024 * 1024
DEEP = 10_000
JSON = "application/json"


@pytest.fixture(scope="module")
def ingest(
    redis_server: RedisServer, tokens_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    env = {
        "PACER_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        "PACER_RATE_LIMIT_RPS": "100000",
        "PACER_RATE_LIMIT_BURST": "100000",
    }
    log_dir = tmp_path_factory.mktemp("hostile")
    with ingest_running(redis_server.url, tokens_file, log_dir, **env) as service:
        yield service


@pytest.fixture
def api(ingest: Service, redis_client: redis.Redis) -> Iterator[httpx.Client]:
    """A client, and after the test: the process still serves and logged no traceback."""
    logged_before = ingest.log_path.stat().st_size
    with httpx.Client(base_url=ingest.url, timeout=30) as client:
        yield client
        assert client.get("/healthz").status_code == 200
    assert ingest.process is not None and ingest.process.poll() is None
    with ingest.log_path.open("rb") as log:
        log.seek(logged_before)
        new_lines = log.read().decode(errors="replace")
    assert "Traceback" not in new_lines, new_lines[-3000:]


def raw_json(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


def sites_with(**site_fields: Any) -> bytes:
    return raw_json(sites_report(site("JN-1") | site_fields))


def with_site_literal(name: str, literal: str) -> bytes:
    """A sites report whose first site has ``"name": <literal>``, written as raw JSON text."""
    text = raw_json(sites_report(site("JN-1", lat=0))).decode()
    return text.replace('"lat": 0', f'"{name}": {literal}', 1).encode()


def gigabit_literal(literal: str) -> bytes:
    return (
        '{"period": "2024-07", "as_of": "2024-07-10", '
        f'"indicators": {{"bb_1000m_users": {literal}}}}}'
    ).encode()


def padded_to(size: int) -> bytes:
    """A valid gigabit report padded with JSON whitespace to exactly ``size`` bytes."""
    body = raw_json(gigabit_report({"user_5g_share_pct": 40}, report_id="padded"))
    return body + b" " * (size - len(body))


@dataclass(frozen=True)
class Rejected:
    spec: str
    body: bytes
    status: int
    loc: list[str | int]
    code: str
    kind: str = "5g-sites"
    content_type: str | None = JSON
    headers: tuple[tuple[str, str], ...] = ()


SITE_0: list[str | int] = ["body", "sites", 0]

REJECTED = [
    # Size and count limits, one past each.
    Rejected(
        "a body one byte over PACER_MAX_BODY_BYTES is 413",
        padded_to(MAX_BODY_BYTES + 1),
        413,
        ["body"],
        "payload_too_large",
        kind="gigabit",
    ),
    Rejected(
        "10,001 sites are one report too many",
        raw_json(sites_report(*[site(f"JN-{i}") for i in range(10_001)])),
        422,
        ["body", "sites"],
        "too_long",
    ),
    Rejected(
        "a site_id of 65 characters",
        sites_with(site_id="S" * 65),
        422,
        [*SITE_0, "site_id"],
        "string_too_long",
    ),
    Rejected(
        "a report_id of 129 characters",
        raw_json(sites_report(site("JN-1"), report_id="R" * 129)),
        422,
        ["body", "report_id"],
        "string_too_long",
    ),
    Rejected(
        "an Idempotency-Key of 129 characters",
        raw_json(sites_report(site("JN-1"))),
        422,
        ["header", "Idempotency-Key"],
        "string_too_long",
        headers=(("Idempotency-Key", "K" * 129),),
    ),
    Rejected(
        "a district of 65 characters",
        sites_with(district="区" * 65),
        422,
        [*SITE_0, "district"],
        "string_too_long",
    ),
    Rejected(
        "a band of 33 characters",
        sites_with(band="n" * 33),
        422,
        [*SITE_0, "band"],
        "string_too_long",
    ),
    # Nesting: the parser's depth limit answers, not Python's recursion limit.
    Rejected(
        "10,000 nested arrays",
        b"[" * DEEP + b"]" * DEEP,
        422,
        ["body"],
        "json_invalid",
    ),
    Rejected(
        "10,000 nested objects",
        b'{"a":' * DEEP + b"1" + b"}" * DEEP,
        422,
        ["body"],
        "json_invalid",
    ),
    Rejected(
        "10,000 nested arrays inside a site",
        with_site_literal("band", "[" * DEEP + "]" * DEEP),
        422,
        ["body"],
        "json_invalid",
    ),
    # Unicode and bytes.
    Rejected(
        "a zero-width space inside a site_id",
        sites_with(site_id="JN\u200b-1"),
        422,
        [*SITE_0, "site_id"],
        "string_pattern_mismatch",
    ),
    Rejected(
        "a non-BMP character in a site_id",
        sites_with(site_id="JN-\U0001f4e1"),
        422,
        [*SITE_0, "site_id"],
        "string_pattern_mismatch",
    ),
    Rejected(
        "an escaped NUL in a district",
        raw_json(sites_report(site("JN-1", district="历下\u0000区"))),
        422,
        [*SITE_0, "district"],
        "string_pattern_mismatch",
    ),
    Rejected(
        "a raw NUL byte inside a JSON string",
        sites_with(district="历下区").replace("历下区".encode(), b"\x00"),
        422,
        ["body"],
        "json_invalid",
    ),
    Rejected(
        "a lone surrogate escaped as \\ud800",
        with_site_literal("district", '"\\ud800"'),
        422,
        ["body"],
        "json_invalid",
    ),
    Rejected(
        "bytes that are not UTF-8",
        sites_with(district="历下区").replace("历下区".encode(), b"\xff\xfe"),
        422,
        ["body"],
        "json_invalid",
    ),
    Rejected(
        "a period in other scripts' digits",
        raw_json(sites_report(period="٢٠٢٤-07")),
        422,
        ["body", "period"],
        "string_pattern_mismatch",
    ),
    # Numbers JSON can write and Pacer cannot mean.
    Rejected("NaN", with_site_literal("lat", "NaN"), 422, [*SITE_0, "lat"], "finite_number"),
    Rejected(
        "Infinity",
        with_site_literal("lat", "Infinity"),
        422,
        [*SITE_0, "lat"],
        "finite_number",
    ),
    Rejected(
        "-Infinity",
        with_site_literal("lat", "-Infinity"),
        422,
        [*SITE_0, "lat"],
        "finite_number",
    ),
    Rejected(
        "1e309, which overflows to infinity",
        with_site_literal("lat", "1e309"),
        422,
        [*SITE_0, "lat"],
        "finite_number",
    ),
    Rejected(
        "an integer of 401 digits",
        gigabit_literal("1" + "0" * 400),
        422,
        ["body", "indicators", "bb_1000m_users"],
        "finite_number",
        kind="gigabit",
    ),
    Rejected(
        "negative zero as a latitude",
        with_site_literal("lat", "-0.0"),
        422,
        [*SITE_0, "lat"],
        "outside_shandong",
    ),
    Rejected(
        "true as a count",
        gigabit_literal("true"),
        422,
        ["body", "indicators", "bb_1000m_users"],
        "float_type",
        kind="gigabit",
    ),
    Rejected(
        "a name twice in one object",
        with_site_literal("lat", '99.0, "lat": 36.6'),
        422,
        [*SITE_0, "lat"],
        "duplicate_key",
    ),
    # Not a JSON report at all.
    Rejected("an empty body", b"", 422, ["body"], "json_invalid"),
    Rejected("null", b"null", 422, ["body"], "model_type"),
    Rejected("an array for a report", b"[]", 422, ["body"], "model_type"),
    Rejected(
        "text/plain",
        raw_json(sites_report()),
        415,
        ["header", "Content-Type"],
        "unsupported_media_type",
        content_type="text/plain",
    ),
    Rejected(
        "no Content-Type",
        raw_json(sites_report()),
        415,
        ["header", "Content-Type"],
        "unsupported_media_type",
        content_type=None,
    ),
    Rejected(
        "a form",
        b"report_id=x&period=2024-07",
        415,
        ["header", "Content-Type"],
        "unsupported_media_type",
        content_type="application/x-www-form-urlencoded",
    ),
    Rejected(
        "multipart",
        b"--b\r\n\r\n{}\r\n--b--\r\n",
        415,
        ["header", "Content-Type"],
        "unsupported_media_type",
        content_type="multipart/form-data; boundary=b",
    ),
    Rejected(
        "a JSON look-alike media type",
        raw_json(sites_report()),
        415,
        ["header", "Content-Type"],
        "unsupported_media_type",
        content_type="application/jsonp",
    ),
]


def post(
    api: httpx.Client,
    kind: str,
    body: bytes,
    content_type: str | None = JSON,
    headers: tuple[tuple[str, str], ...] = (),
) -> httpx.Response:
    sent = dict(JINAN) | dict(headers)
    if content_type is not None:
        sent["Content-Type"] = content_type
    return api.post(f"/v1/cities/jinan/reports/{kind}", content=body, headers=sent)


def nothing_stored(redis_client: redis.Redis) -> bool:
    return redis_client.xlen(names.REPORTS_STREAM) == 0 and not redis_client.keys(
        names.report_key("*", "*")
    )


def assert_machine_readable(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.headers["content-type"].startswith("application/json")
    errors: list[dict[str, Any]] = response.json()["errors"]
    assert errors
    for error in errors:
        assert set(error) == {"loc", "code", "message"}
        assert isinstance(error["loc"], list) and error["loc"]
        assert error["code"] and error["message"]
    return errors


@pytest.mark.parametrize("case", REJECTED, ids=[case.spec for case in REJECTED])
def test_a_hostile_report_is_rejected_whole_with_located_errors(
    api: httpx.Client, redis_client: redis.Redis, case: Rejected
) -> None:
    response = post(api, case.kind, case.body, case.content_type, case.headers)
    assert response.status_code == case.status, response.text[:2000]
    errors = assert_machine_readable(response)
    assert {"loc": case.loc, "code": case.code} in [
        {"loc": e["loc"], "code": e["code"]} for e in errors
    ], errors[:5]
    assert nothing_stored(redis_client)


def test_a_body_streamed_in_chunks_past_the_limit_is_413(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"period": "2024-07", "as_of": "2024-07-10", "indicators": {}, "x": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 1):
            yield b"x" * 65536
        yield b'"}'

    response = api.post(
        "/v1/cities/jinan/reports/gigabit",
        content=chunks(),  # no Content-Length: the limit must hold while the body arrives
        headers=JINAN | {"Content-Type": JSON},
    )
    assert response.status_code == 413
    assert assert_machine_readable(response)[0]["loc"] == ["body"]
    assert nothing_stored(redis_client)


@dataclass(frozen=True)
class Accepted:
    spec: str
    body: bytes
    kind: str = "5g-sites"
    content_type: str = JSON


ACCEPTED = [
    Accepted("a body of exactly PACER_MAX_BODY_BYTES", padded_to(MAX_BODY_BYTES), kind="gigabit"),
    Accepted(
        "exactly 10,000 sites",
        raw_json(sites_report(*[site(f"JN-{i}") for i in range(10_000)], report_id="tenk")),
    ),
    Accepted(
        "a site_id of 64 and a report_id of 128 characters",
        raw_json(sites_report(site("S" * 64), report_id="R" * 128)),
    ),
    Accepted(
        "a district of 64 non-BMP characters and a band of 32",
        raw_json(sites_report(site("JN-1", district="\U00020000" * 64, band="n" * 32))),
    ),
    Accepted(
        "right-to-left text, zero-width joiners and emoji in a district",
        raw_json(
            sites_report(
                site("JN-1", district="\u202b\u05e9\u05dc\u05d5\u05dd\u200d\U0001f4e1\u202c区")
            )
        ),
    ),
    Accepted(
        "the same text sent as \\u escapes",
        json.dumps(sites_report(site("JN-1", district="历下区 \U0001f4e1"))).encode(),
    ),
    Accepted(
        "a charset parameter and an upper-case media type",
        raw_json(gigabit_report({"user_5g_share_pct": 40})),
        kind="gigabit",
        content_type="Application/JSON; charset=utf-8",
    ),
    Accepted("negative zero as a count, which is zero", gigabit_literal("-0"), kind="gigabit"),
]


@pytest.mark.parametrize("case", ACCEPTED, ids=[case.spec for case in ACCEPTED])
def test_a_report_at_a_limit_is_accepted_and_stored_once_as_sent(
    api: httpx.Client, redis_client: redis.Redis, case: Accepted
) -> None:
    response = post(api, case.kind, case.body, case.content_type)
    assert response.status_code == 202, response.text[:2000]
    entries = cast(list[tuple[str, dict[str, str]]], redis_client.xrange(names.REPORTS_STREAM))
    assert len(entries) == 1
    stored = json.loads(entries[0][1]["payload"])
    sent = json.loads(case.body)
    for key in ("period", "as_of", "sites", "indicators"):
        assert stored.get(key) == sent.get(key)
