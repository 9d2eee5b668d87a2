"""The report bodies the benchmarks send: the same JSON as bench/wrk/reports.lua builds.

Every body carries a new report id (and a 5G report a new site id), so no request is answered as a
duplicate; the dates fit the benchmarks' fixed clock (harness.BENCH_CLOCK, 2024-07-15).
"""

from __future__ import annotations

import json

PERIOD = "2024-06"
AS_OF = "2024-06-30"

KINDS = ("5g-sites", "gigabit")


def sites_body(report_id: str) -> dict[str, object]:
    """A 5G report with one new site (the commonest monthly report of a small city)."""
    return {
        "report_id": report_id,
        "period": PERIOD,
        "as_of": AS_OF,
        "sites": [
            {
                "site_id": f"S{report_id}",
                "operator": "china_mobile",
                "status": "in_service",
                "commissioned_on": "2024-06-12",
                "lat": 36.651,
                "lon": 117.12,
                "district": "LX",
                "band": "n41",
            }
        ],
    }


def gigabit_body(
    report_id: str, n: int, overrides: dict[str, float] | None = None
) -> dict[str, object]:
    """A gigabit report with all seven indicators (``overrides`` replaces some values)."""
    indicators: dict[str, float] = {
        "household_gigabit_coverage_pct": 80 + n % 40 + 0.5,
        "pon_10g_port_share_pct": 31.0,
        "key_location_5g_reach_pct": 92.0,
        "bs_5g_per_10k": 21.7,
        "bb_500m_user_share_pct": 35.0,
        "bb_1000m_users": 1_000_000 + n,
        "user_5g_share_pct": 48.0,
    }
    indicators |= overrides or {}
    return {"report_id": report_id, "period": PERIOD, "as_of": AS_OF, "indicators": indicators}


def report_body(kind: str, report_id: str, n: int) -> dict[str, object]:
    return sites_body(report_id) if kind == "5g-sites" else gigabit_body(report_id, n)


def post_request(path: str, token: str, body: dict[str, object], host: str = "127.0.0.1") -> bytes:
    """The raw HTTP/1.1 request (keep-alive) the open-loop generator writes."""
    data = json.dumps(body, separators=(",", ":")).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data
