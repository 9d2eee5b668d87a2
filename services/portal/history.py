"""The monthly history of a city's programme as the API returns it (contract §6), read into
rows the city page draws: one per month from the programme's start to the month of its
judgement day, with the cumulative new sites, the plan, the status and the month's report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class HistoryMonth:
    month: str
    judged_as_of: str | None
    new: float | None
    planned: float | None
    attainment: float | None
    status: str | None
    report: str | None
    """on_time | late | missing | not_due | unrecorded (None when the API says nothing)."""
    received_at: str | None
    indicators: dict[str, float | None] = field(default_factory=dict)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _rows(answer: Any) -> list[Any]:
    if isinstance(answer, dict) and isinstance(answer.get("rows"), list):
        rows: list[Any] = answer["rows"]
        return rows
    return []


def _indicator_value(value: Any) -> float | None:
    """An indicator of a gigabit row: ``{"value", "as_of", "passing"}``."""
    return _number(value.get("value")) if isinstance(value, dict) else _number(value)


def read_history(answer: Any) -> list[HistoryMonth]:
    months = []
    for row in _rows(answer):
        if not isinstance(row, dict) or not isinstance(row.get("month"), str):
            continue
        report = row.get("report")
        received_at = row.get("received_at")
        indicators = row.get("indicators")
        months.append(
            HistoryMonth(
                month=row["month"],
                judged_as_of=row.get("judged_as_of"),
                new=_number(row.get("new")),
                planned=_number(row.get("planned")),
                attainment=_number(row.get("attainment")),
                status=row.get("status"),
                report=report if isinstance(report, str) else None,
                received_at=received_at if isinstance(received_at, str) else None,
                indicators=(
                    {str(k): _indicator_value(v) for k, v in indicators.items()}
                    if isinstance(indicators, dict)
                    else {}
                ),
            )
        )
    return months
