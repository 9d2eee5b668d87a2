"""The city page's chart: drawn from the history rows exactly, one point per month reported,
on an axis that runs from the programme's start to its deadline and holds the target."""

from __future__ import annotations

from services.portal.charts import months_between, site_chart
from services.portal.history import read_history

ANSWER = {
    "city": "jinan",
    "program": "5g-2025",
    "rows": [
        {"month": "2024-01", "new": 275, "planned": 126.9, "attainment": 2.1671, "status": "met",
         "report": "on_time", "received_at": "2024-02-05T10:00:00+08:00"},
        {"month": "2024-02", "new": 600, "planned": 253.8, "attainment": 2.364,
         "status": "on_track", "report": "late", "received_at": "2024-03-12T10:00:00+08:00"},
        {"month": "2024-03", "new": 600, "planned": 640.1, "attainment": 0.9374,
         "status": "on_track", "report": "missing", "received_at": None},
    ],
}  # fmt: skip


def chart(target: float | None = 6345):
    rows = read_history(ANSWER)
    return site_chart(rows, "2024-01", "2025-12", target, lambda m: m, lambda n: f"{n:,.0f}")


def test_history_rows_are_read_with_their_report_and_figures() -> None:
    rows = read_history(ANSWER)
    assert [(r.month, r.new, r.planned, r.report) for r in rows] == [
        ("2024-01", 275, 126.9, "on_time"),
        ("2024-02", 600, 253.8, "late"),
        ("2024-03", 600, 640.1, "missing"),
    ]
    assert read_history({"unexpected": True}) == []


def test_every_point_is_a_month_of_the_history_with_its_number() -> None:
    drawn = chart()
    assert [(p.month, p.value) for p in drawn.actual] == [
        ("2024-01", 275), ("2024-02", 600), ("2024-03", 600)
    ]  # fmt: skip
    assert [p.value for p in drawn.planned] == [126.9, 253.8, 640.1]
    assert drawn.actual[1].y == drawn.actual[2].y  # the same value, the same height
    assert drawn.actual[0].x < drawn.actual[1].x < drawn.actual[2].x


def test_the_axes_hold_the_target_and_run_to_the_deadline() -> None:
    drawn = chart()
    assert drawn.target_y is not None and drawn.plot_top <= drawn.target_y < drawn.actual[0].y
    top_tick = max(tick.at for tick in drawn.y_ticks)
    assert float(drawn.y_ticks[-1].label.replace(",", "")) >= 6345
    assert top_tick == drawn.plot_bottom  # ticks run from 0 (bottom) up
    assert drawn.x_ticks[0].label == "2024-01" and len(months_between("2024-01", "2025-12")) == 24
    assert all(drawn.plot_left <= p.x <= drawn.plot_right for p in drawn.actual)


def test_a_program_without_target_or_history_still_draws() -> None:
    empty = site_chart([], "2024-01", "2027-12", None, str, str)
    assert empty.actual == [] and empty.target_y is None and empty.y_ticks
