"""Alert rules: which alerts are active for given targets, state and ``now`` (contract §4).

Pure functions; the alerting service evaluates them after every applied report and on a timer,
and ``shared.domain.alert_lifecycle`` turns successive evaluations into notifications.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from shared.domain.state import CityState
from shared.domain.targets import Targets


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


class AlertName(StrEnum):
    FIVE_G_BEHIND_PLAN = "FiveGBehindPlan"
    FIVE_G_PROJECTED_MISS = "FiveGProjectedMiss"
    FIVE_G_TARGET_MISSED = "FiveGTargetMissed"
    FIVE_G_PROVINCE_BEHIND_PLAN = "FiveGProvinceBehindPlan"
    GIGABIT_INDICATOR_BELOW_THRESHOLD = "GigabitIndicatorBelowThreshold"
    GIGABIT_STANDARD_NOT_MET = "GigabitStandardNotMet"
    REPORT_OVERDUE = "ReportOverdue"


@dataclass(frozen=True)
class Alert:
    """One active alert. Its identity (fingerprint) is its label set; annotations carry numbers."""

    labels: dict[str, str]
    """alertname, severity, program, and where it applies city, indicator, kind."""
    annotations: dict[str, str] = field(default_factory=dict)
    """summary and description, with the numbers (actual, expected, shortfall, projection)."""

    @property
    def fingerprint(self) -> str:
        canonical = "\x1f".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def name(self) -> str:
        return self.labels["alertname"]

    @property
    def severity(self) -> str:
        return self.labels["severity"]


def evaluate_alerts(targets: Targets, states: dict[str, CityState], now: datetime) -> list[Alert]:
    """Every alert that is active at ``now``, sorted by fingerprint."""
    raise NotImplementedError  # implemented by the domain work of the alerting issue
