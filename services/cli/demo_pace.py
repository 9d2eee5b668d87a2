"""How far each city of ``pacer demo`` has built at each month's end: pure and seeded.

A path is the number of new in-service sites a city holds at the end of each month, read against
the plan Pacer judges it on (contract §1.1): a city that reports a month by its due day is judged
at that month's last day, where its plan is the larger of the two site programmes' plans (the
seasonal 5g-2025 profile from March 2024 on; in January and February the linear 5g-2027 plan on
the increment is ahead of it). The simulation then commissions what each month's step needs.

- An ordinary city stays ``ORDINARY_MARGIN`` or more ahead of that plan at every month's end, the
  seeded noise only ever adding to the margin: it never raises an alert.
- ``skipping`` keeps ``SKIPPING_MARGIN`` ahead: while its late month is missing it is judged at
  that month's end with the figures of the month before (the floor F), and that margin covers the
  plan's steepest step of the months it may skip (2024-07: 0.3167 / 0.275 = 1.15).
- ``lagging`` is ahead in the first quarter, then adds ``LAGGING_PACE`` of an average month of its
  quota: at its April report its attainment is 0.76-0.85 (warning), from May under 0.71
  (critical as well), and it ends 2025 near half its quota. On the 5g-2027 increment (linear,
  0.75 of the 5g-2025 quota a year) that pace is under 0.90 of the plan by September 2024 and
  under 0.75 between September 2024 and May 2025.
- ``recovering`` is ahead in the first quarter, then builds slower than the plan's steep spring
  (``RECOVERING_SLUMP``): from April its last 90 days' rate finishes only after the deadline
  (FiveGProjectedMiss), from May it is under 0.90 of the plan (FiveGBehindPlan warning, never
  under 0.75), and its October catch-up brings it back over 0.90 at a rate that finishes in time;
  from November it is ahead of the plan again. Each step keeps 5 % or more from its threshold.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable

from shared.domain.calendar import Period, end_of_day
from shared.domain.plan import plan_fraction
from shared.domain.targets import City, Targets

ORDINARY_MARGIN = (1.04, 1.10)
"""Range of a city's own margin over the plan; each month adds 0 to MONTHLY_NOISE to it."""
MONTHLY_NOISE = 0.04
SKIPPING_MARGIN = (1.18, 1.22)
LAGGING_PACE = (0.42, 0.48)
"""Share of an average month of the 5g-2025 quota the laggard adds each month after March 2024."""
GOOD_START_MONTHS = 3
"""The laggard and the recovering city are ahead of the plan in 2024-01..2024-03."""
RECOVERING_SLUMP: dict[Period, float] = {
    Period(2024, 4): 0.92,
    Period(2024, 5): 0.82,
    Period(2024, 6): 0.79,
    Period(2024, 7): 0.78,
    Period(2024, 8): 0.78,
    Period(2024, 9): 0.78,
    Period(2024, 10): 0.93,
}
"""The recovering city's attainment at these month ends (± SLUMP_JITTER); ahead of plan after."""
SLUMP_JITTER = 0.01


def plan_at_month_end(targets: Targets, city: City, month: Period) -> float:
    """Sites the city needs by the end of ``month`` to be on every site programme's plan."""
    return max(
        program.target_new(city)
        * plan_fraction(
            program.start, program.deadline, end_of_day(month.last_day), program.milestones
        )
        for program in targets.site_programs
    )


def site_path(
    targets: Targets,
    city: City,
    role: str,
    months: Iterable[Period],
    quota: int,
    rng: random.Random,
) -> dict[Period, int]:
    """New in-service sites at each month's end for a city playing ``role`` ("" for none)."""
    low, high = SKIPPING_MARGIN if role == "skipping" else ORDINARY_MARGIN
    margin = rng.uniform(low, high)
    lagging_step = quota / 24 * rng.uniform(*LAGGING_PACE)
    path: dict[Period, int] = {}
    held = 0
    for index, month in enumerate(months):
        plan = plan_at_month_end(targets, city, month)
        ahead = math.ceil(plan * (margin + rng.uniform(0, MONTHLY_NOISE)))
        if role == "lagging" and index >= GOOD_START_MONTHS:
            wanted = round(held + lagging_step)
        elif role == "recovering" and month in RECOVERING_SLUMP:
            share = RECOVERING_SLUMP[month] + rng.uniform(-SLUMP_JITTER, SLUMP_JITTER)
            wanted = math.ceil(plan * share)
        else:
            wanted = ahead
        held = max(held, wanted)
        path[month] = held
    return path
