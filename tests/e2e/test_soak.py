"""A short soak: load from concurrent city clients while the aggregator and the alerting service
are killed with SIGKILL and Redis restarts, then every end check of ``make soak``."""

from __future__ import annotations

import random

import pytest

from tests.soak.chaos import Fault, plan_faults
from tests.soak.run import SoakConfig, SoakResult, as_json, run_soak, table
from tests.support.processes import require_binary

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def soak(tmp_path_factory: pytest.TempPathFactory) -> SoakResult:
    require_binary("redis-server")
    config = SoakConfig(
        duration_s=25,
        clients=3,
        seed=7,
        mean_fault_gap_s=1000,  # only the forced faults: one of each kind
        force_each_fault=True,
        answer_grace_s=15,
        drain_timeout_s=30,
        client_pause_s=0.02,  # at most ~150 reports/s: the test is about faults, not speed
        workdir=tmp_path_factory.mktemp("soak"),
    )
    result = run_soak(config)
    print(table(result))
    return result


def test_every_report_answered_202_is_applied_exactly_once_through_crashes_and_a_redis_restart(
    soak: SoakResult,
) -> None:
    assert soak.faults_by_kind == {str(kind): 1 for kind in Fault}
    assert soak.accepted > 100
    assert soak.rejected == 0, soak.rejected_examples
    assert soak.unresolved == 0
    assert soak.verdict.applied == soak.accepted
    assert soak.verdict.lost == 0, soak.verdict.lost_examples
    assert soak.verdict.duplicated == 0, soak.verdict.duplicated_examples
    assert soak.verdict.unexpected_sites == 0
    assert soak.verdict.sites_stored == soak.verdict.sites_expected > 0


def test_a_resent_report_is_answered_duplicate_and_a_retried_one_is_not_accepted_twice(
    soak: SoakResult,
) -> None:
    assert soak.duplicates_sent > 0
    assert soak.duplicates_answered_duplicate == soak.duplicates_sent
    assert soak.retries > 0, "the Redis restart made clients retry"


def test_after_the_faults_nothing_is_pending_or_dead_lettered(soak: SoakResult) -> None:
    assert soak.verdict.pending and not any(soak.verdict.pending.values())
    assert not any(soak.verdict.lag.values())
    assert soak.verdict.dead_letters == 0
    assert soak.verdict.deliveries_due == 0


def test_the_active_alerts_are_those_the_final_state_implies(soak: SoakResult) -> None:
    assert soak.verdict.alerts_mismatch == []
    assert soak.verdict.alerts_active == soak.verdict.alerts_expected > 0
    assert soak.verdict.alerts_api == soak.verdict.alerts_active


def test_no_alert_transition_is_notified_twice_and_each_one_arrives(soak: SoakResult) -> None:
    assert soak.verdict.notifications_distinct > 0
    assert soak.verdict.double_notifications == []
    assert soak.verdict.misgrouped == []
    assert soak.verdict.transitions_notified >= soak.verdict.notifications_distinct
    assert soak.verdict.bad_signatures == 0, soak.verdict.bad_signature_examples
    assert soak.verdict.notification_mismatch == []


def test_the_fault_plan_has_every_kind_and_random_faults_spread_over_the_run() -> None:
    plan = plan_faults(random.Random(3), duration_s=300, mean_gap_s=20, forced=True)
    assert {kind for _, kind in plan} == set(Fault)
    assert len(plan) > 6
    moments = [at for at, _ in plan]
    assert moments == sorted(moments)
    assert moments[0] < 100 and moments[-1] > 150
    assert all(15 <= at <= 240 for at in moments)
    assert plan_faults(random.Random(3), 300, 20, True) == plan, "a seed gives the same plan"


def test_the_soak_summary_table_and_json_agree_on_the_verdict(soak: SoakResult) -> None:
    doc = as_json(soak)
    assert doc["ok"] is True, doc["failures"]
    assert doc["lost"] == 0 and doc["duplicated"] == 0
    assert "lost (must be 0)" in table(soak)
