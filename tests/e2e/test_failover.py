"""Redis with Sentinel: the primary is killed with SIGKILL while 32 city clients submit, the
sentinels promote the replica, and every service follows it with no restart. With
``PACER_REDIS_MIN_REPLICAS=1`` no report answered 202 is lost and no alert transition is
notified twice. The soak's machinery, on a primary, a replica and three ``redis-sentinel``
processes (``make soak SOAK_ARGS=--sentinel`` is the long variant)."""

from __future__ import annotations

import pytest

from tests.soak.chaos import Fault
from tests.soak.run import SoakConfig, SoakResult, as_json, run_soak, table
from tests.support.processes import require_binary

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def failover(tmp_path_factory: pytest.TempPathFactory) -> SoakResult:
    require_binary("redis-server")
    require_binary("redis-sentinel")
    config = SoakConfig(
        duration_s=16,
        clients=32,
        seed=15,
        mean_fault_gap_s=1000,  # no random faults: the one kill of the primary
        force_each_fault=True,
        fault_kinds=(Fault.PRIMARY_KILL,),
        forced_from=0.3,  # about 5 s in: load before, and after the replica is promoted
        answer_grace_s=20,
        drain_timeout_s=45,
        client_pause_s=0.1,  # 32 clients, at most ~320 reports/s: the test is about the failover
        workdir=tmp_path_factory.mktemp("failover"),
        sentinel=True,
        min_replicas=1,
    )
    result = run_soak(config)
    print(table(result))
    return result


def test_after_a_kill_9_of_the_primary_every_report_answered_202_is_applied_exactly_once(
    failover: SoakResult,
) -> None:
    assert failover.faults_by_kind == {str(Fault.PRIMARY_KILL): 1}
    [killed] = failover.failovers
    assert killed.promoted_s < 15
    assert failover.accepted > 200
    assert failover.verdict.applied == failover.accepted
    assert (failover.verdict.lost, failover.verdict.duplicated) == (0, 0), failover.failures
    assert failover.verdict.sites_stored == failover.verdict.sites_expected > 0


def test_reports_are_refused_only_around_the_failover_and_their_retries_get_in(
    failover: SoakResult,
) -> None:
    [window] = failover.refusal_windows
    assert window.count > 0, "the kill made clients retry"
    assert window.first_s is not None and window.first_s < 2
    # Until the sentinels name the replica (~1-3 s), then until a replica confirms again
    # (the killed node rejoining, a few seconds): then reports are accepted again.
    assert window.span_s < 30
    assert set(window.reasons) <= {
        "503 storage_unavailable",
        "503 replication_unconfirmed",
        "503 handler_timeout",
        "ConnectError",
        "ReadError",
        "ReadTimeout",
        "RemoteProtocolError",
    }, window.reasons
    assert failover.duplicates_answered_duplicate == failover.duplicates_sent


def test_every_end_check_of_the_soak_passes_across_the_failover(failover: SoakResult) -> None:
    """Nothing pending or dead-lettered, the active alerts those the final state implies, no
    transition notified twice, every webhook signed and grouped (``verify.Verdict``)."""
    assert failover.failures == []
    assert failover.verdict.alerts_active == failover.verdict.alerts_expected > 0
    assert failover.verdict.notifications_distinct > 0
    assert failover.unexpected_exits == {}
    assert as_json(failover)["config"]["min_replicas"] == 1
