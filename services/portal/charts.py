"""Charts drawn on the server as SVG geometry from the history the API returns (contract §6):
cumulative new sites against the plan, month by month, and the target. The template turns the
geometry into ``<svg>`` elements; every point carries its month and numbers as data attributes,
so what the chart shows can be checked against the API figure by figure."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from services.portal.history import HistoryMonth

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 40


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    month: str
    value: float


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class SiteChart:
    width: int
    height: int
    actual: list[Point]
    planned: list[Point]
    target_y: float | None
    target: float | None
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float

    @staticmethod
    def path(points: list[Point]) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in points)


def _nice_step(top: float, steps: int = 5) -> float:
    raw = max(top, 1.0) / steps
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * magnitude:
            return multiple * magnitude
    return 10 * magnitude


def months_between(first: str, last: str) -> list[str]:
    year, month = map(int, first.split("-"))
    end = tuple(map(int, last.split("-")))
    months = []
    while (year, month) <= end:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def site_chart(
    history: list[HistoryMonth],
    first_month: str,
    last_month: str,
    target: float | None,
    month_label: Callable[[str], str],
    number_label: Callable[[float], str],
) -> SiteChart:
    """The program's months from ``first_month`` to ``last_month`` (its deadline) on the x axis,
    history's cumulative new and planned sites as two lines, the target as a level.
    ``month_label`` and ``number_label`` write the axes in the page's language."""
    months = months_between(first_month, last_month)
    index = {month: i for i, month in enumerate(months)}
    values = [m.new for m in history if m.new is not None]
    values += [m.planned for m in history if m.planned is not None]
    top = max([*values, target or 0, 1])
    step = _nice_step(top * 1.05)
    y_max = step * math.ceil(top * 1.05 / step)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(month: str) -> float:
        return float(LEFT + plot_w * (index[month] + 0.5) / len(months))

    def y_of(value: float) -> float:
        return float(TOP + plot_h * (1 - value / y_max))

    actual = [
        Point(x_of(m.month), y_of(m.new), m.month, m.new)
        for m in history
        if m.new is not None and m.month in index
    ]
    planned = [
        Point(x_of(m.month), y_of(m.planned), m.month, m.planned)
        for m in history
        if m.planned is not None and m.month in index
    ]
    every = 3 if len(months) <= 30 else 6
    x_ticks = [
        Tick(x_of(month), month_label(month)) for i, month in enumerate(months) if i % every == 0
    ]
    y_ticks = [Tick(y_of(step * i), number_label(step * i)) for i in range(int(y_max / step) + 1)]
    return SiteChart(
        WIDTH,
        HEIGHT,
        actual,
        planned,
        y_of(target) if target is not None else None,
        target,
        y_ticks,
        x_ticks,
        LEFT,
        WIDTH - RIGHT,
        TOP,
        HEIGHT - BOTTOM,
    )
