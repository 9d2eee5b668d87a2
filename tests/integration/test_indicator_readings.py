"""The winning reading per indicator and as_of: what the judgement reads instead of the whole
history list, and the upgrade that builds it for a store written before it."""

from __future__ import annotations

from datetime import date

from redis.asyncio import Redis

from shared import names
from shared.domain.progress import readings_in_force
from shared.store.indicator_readings import upgrade_indicator_readings
from shared.store.state import read_city_states

V1_HISTORY = [  # indicator, value, as_of, report_id, in arrival order
    ("bs_5g_per_10k", "10.0", "2024-06-30", "june"),
    ("bs_5g_per_10k", "14.0", "2024-08-31", "august"),
    ("bs_5g_per_10k", "11.0", "2024-07-31", "july, late"),
    ("bs_5g_per_10k", "15.0", "2024-08-31", "august, corrected"),
    ("household_gigabit_coverage_pct", "85.0", "2024-06-30", "june"),
]


async def write_v1_history(store: Redis) -> None:
    await store.rpush(
        names.city_indicator_history_key("jinan"), *("\t".join(line) for line in V1_HISTORY)
    )


async def in_force(store: Redis, day: date) -> dict[str, tuple[float, str]]:
    state = (await read_city_states(store, ["jinan"]))["jinan"]
    return {k: (r.value, r.report_id) for k, r in readings_in_force(state, day).items()}


async def test_before_the_upgrade_the_state_read_falls_back_to_the_history_list(
    store: Redis,
) -> None:
    await write_v1_history(store)
    assert await in_force(store, date(2024, 12, 31)) == {
        "bs_5g_per_10k": (15.0, "august, corrected"),
        "household_gigabit_coverage_pct": (85.0, "june"),
    }


async def test_the_upgrade_keeps_every_judgement_and_runs_once(store: Redis) -> None:
    await write_v1_history(store)
    before = {day: await in_force(store, day) for day in (date(2024, 7, 31), date(2024, 12, 31))}
    assert await upgrade_indicator_readings(store, ["jinan", "qingdao"]) == len(V1_HISTORY)
    readings = await store.hgetall(names.city_indicator_readings_key("jinan"))
    assert len(readings) == 4  # one per indicator and as_of: august's two submissions are one
    assert {day: await in_force(store, day) for day in before} == before
    assert await upgrade_indicator_readings(store, ["jinan"]) == 0  # already built


async def test_the_judgement_no_longer_reads_a_growing_history(store: Redis) -> None:
    # a thousand resubmissions of one month's value: the readings hold one entry
    await store.rpush(
        names.city_indicator_history_key("jinan"),
        *(f"bs_5g_per_10k\t{n}.0\t2024-06-30\tr-{n}" for n in range(1000)),
    )
    await upgrade_indicator_readings(store, ["jinan"])
    assert await store.hlen(names.city_indicator_readings_key("jinan")) == 1
    assert await in_force(store, date(2024, 6, 30)) == {"bs_5g_per_10k": (999.0, "r-999")}


async def test_a_live_read_keeps_each_indicators_latest_reading_up_to_the_day_judged(
    store: Redis,
) -> None:
    await store.rpush(
        names.city_indicator_history_key("jinan"),
        "bs_5g_per_10k\t11.0\t2024-11-30\tnovember",
        "bs_5g_per_10k\t13.0\t2024-12-31\tdecember",
        "bs_5g_per_10k\t20.0\t2025-03-31\tafter the deadline",
        "household_gigabit_coverage_pct\t85.0\t2024-06-30\tjune",
    )
    await upgrade_indicator_readings(store, ["jinan"])
    full = (await read_city_states(store, ["jinan"]))["jinan"]
    live = (await read_city_states(store, ["jinan"], judging_up_to=date(2024, 12, 31)))["jinan"]
    assert sorted(r.report_id for _, r in live.indicator_history) == ["december", "june"]
    assert len(full.indicator_history) == 4
    # the judgement at the deadline (the latest day a live read judges gigabit on) is the same
    deadline = date(2024, 12, 31)
    assert readings_in_force(live, deadline) == readings_in_force(full, deadline)
