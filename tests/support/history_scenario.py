"""Reports of the first half of 2024 for the history tests (integration and ops), as received.

On the tests' clock (2024-07-15 12:00, Asia/Shanghai) June's reports are past due, so F is
2024-06-30 for both kinds.

Jinan, 5G sites: January never reported (its two sites came in February's report), February
late, March missing (its site came in April's report), April to June on time (May's at 23:59 on
the due day); June's report decommissions JN-A1, a January site. New sites at each month end,
restated: 1, 2, 3, 4, 5, 6.
Jinan, gigabit: January, February on time, March late, a January correction in April tying
January's as_of; nothing since. Qingdao: 5G sites January to May on time (one a month), June
missing; gigabit June only, every indicator passing.
"""

from __future__ import annotations

from shared.wire import ReportEnvelope
from tests.support.applied import gigabit_envelope, site, sites_envelope

JINAN_NEW_BY_MONTH = {f"2024-0{m}": m for m in range(1, 7)}
JINAN_SITE_REPORTS = {
    "2024-01": "missing",
    "2024-02": "late",
    "2024-03": "missing",
    "2024-04": "on_time",
    "2024-05": "on_time",
    "2024-06": "on_time",
}
JINAN_GIGABIT_JANUARY = {
    "household_gigabit_coverage_pct": 85.0,
    "pon_10g_port_share_pct": 30.0,
    "key_location_5g_reach_pct": 85.0,
    "bs_5g_per_10k": 20.0,
    "bb_500m_user_share_pct": 20.0,
    "bb_1000m_users": 100_000.0,
    "user_5g_share_pct": 30.0,
}
QINGDAO_GIGABIT_JUNE = {
    "household_gigabit_coverage_pct": 96.0,
    "pon_10g_port_share_pct": 40.0,
    "key_location_5g_reach_pct": 95.0,
    "bs_5g_per_10k": 21.4,
    "bb_500m_user_share_pct": 35.0,
    "bb_1000m_users": 150_000.0,
    "user_5g_share_pct": 60.0,
}


def _jinan_sites(period: str, received: str, *sites: tuple[str, ...]) -> ReportEnvelope:
    as_of = {"02": "29", "04": "30", "06": "30"}.get(period[-2:], "31")
    return sites_envelope(
        f"jn-5g-{period}",
        "jinan",
        period=period,
        as_of=f"{period}-{as_of}",
        received=received,
        sites=[site(*s) for s in sites],
    )


def _jinan_gigabit(
    report_id: str, period: str, as_of: str, received: str, values: dict[str, float]
) -> ReportEnvelope:
    return gigabit_envelope(
        report_id, "jinan", period=period, as_of=as_of, received=received, indicators=values
    )


REPORTS: tuple[ReportEnvelope, ...] = (
    _jinan_sites(
        "2024-02",
        "2024-03-20T09:00:00+08:00",
        ("JN-A1", "2024-01-15"),
        ("JN-A2", "2024-01-16"),
        ("JN-B1", "2024-02-10"),
    ),
    *(
        sites_envelope(
            f"qd-5g-2024-0{m}",
            "qingdao",
            period=f"2024-0{m}",
            as_of=f"2024-0{m}-{last}",
            received=f"2024-0{m + 1}-05T10:00:00+08:00",
            sites=[site(f"QD-0{m}", f"2024-0{m}-10")],
        )
        for m, last in ((1, 31), (2, 29), (3, 31), (4, 30), (5, 31))
    ),
    _jinan_gigabit(
        "jn-gig-2024-01",
        "2024-01",
        "2024-01-31",
        "2024-02-05T10:00:00+08:00",
        JINAN_GIGABIT_JANUARY,
    ),
    _jinan_gigabit(
        "jn-gig-2024-02",
        "2024-02",
        "2024-02-29",
        "2024-03-05T10:00:00+08:00",
        {"bb_500m_user_share_pct": 28.0},
    ),
    _jinan_gigabit(
        "jn-gig-2024-03",
        "2024-03",
        "2024-03-31",
        "2024-04-12T10:00:00+08:00",
        {"household_gigabit_coverage_pct": 78.0},
    ),
    _jinan_gigabit(
        "jn-gig-2024-01-fix",
        "2024-01",
        "2024-01-31",
        "2024-04-15T10:00:00+08:00",
        {"bb_500m_user_share_pct": 26.0},
    ),
    _jinan_sites(
        "2024-04",
        "2024-05-08T10:00:00+08:00",
        ("JN-C1", "2024-03-20"),
        ("JN-D1", "2024-04-10"),
    ),
    _jinan_sites("2024-05", "2024-06-10T23:59:00+08:00", ("JN-E1", "2024-05-15")),
    _jinan_sites(
        "2024-06",
        "2024-07-02T16:30:00+08:00",
        ("JN-F1", "2024-06-20"),
        ("JN-A1", "2024-01-15", "decommissioned"),
    ),
    gigabit_envelope(
        "qd-gig-2024-06",
        "qingdao",
        period="2024-06",
        as_of="2024-06-30",
        received="2024-07-03T11:00:00+08:00",
        indicators=QINGDAO_GIGABIT_JUNE,
    ),
)
