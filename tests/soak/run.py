"""One soak run: start a private Pacer, load it while injecting faults, drain, check, summarize."""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from shared.store.connection import connect
from shared.targets import load_targets
from tests.soak import verify
from tests.soak.chaos import (
    SENTINEL_FAULTS,
    SINGLE_REDIS_FAULTS,
    ChaosMonkey,
    Fault,
    InjectedFault,
    plan_faults,
)
from tests.soak.load import NOW, REQUEST_TIMEOUT_S, ClientLog, ReportFactory, run_client
from tests.soak.system import WEBHOOK_SECRET, Failover, SoakSystem


@dataclass(frozen=True)
class SoakConfig:
    duration_s: float = 300
    clients: int = 32
    seed: int = 0
    mean_fault_gap_s: float = 20
    force_each_fault: bool = True
    """One fault of each kind at fixed shares of the run, before the random ones."""
    answer_grace_s: float = 30
    """After the load stops, how long a client may keep retrying its report in flight."""
    drain_timeout_s: float = 60
    client_pause_s: float = 0
    """Each client's pause between reports: 0 is as fast as the system answers."""
    workdir: Path | None = None
    """None: a fresh temporary directory, removed afterwards."""
    sentinel: bool = False
    """Redis with Sentinel (a primary, a replica, three sentinels) instead of one redis-server."""
    min_replicas: int = 0
    """``PACER_REDIS_MIN_REPLICAS`` of the services."""
    replica_lag_ms: float = 0
    """With ``sentinel``: the replication stream runs this far behind, and a kill of the primary
    takes what it had not delivered (a host failure; ``tests/support/lagging_link.py``)."""
    fault_kinds: tuple[Fault, ...] | None = None
    """None: every kind that fits the Redis (``SINGLE_REDIS_FAULTS`` or ``SENTINEL_FAULTS``)."""
    forced_from: float = 0.15
    """Share of the run at which the first forced fault strikes."""

    @property
    def kinds(self) -> tuple[Fault, ...]:
        if self.fault_kinds is not None:
            return self.fault_kinds
        return SENTINEL_FAULTS if self.sentinel else SINGLE_REDIS_FAULTS


@dataclass(frozen=True)
class RefusalWindow:
    """What the clients were told around one kill of the primary: every answer that made them
    retry (a 503, a refused or reset connection, a timeout) from the kill until the next fault
    or the end of the run."""

    fault_at_s: float
    count: int
    first_s: float | None
    """Seconds after the kill of the first such answer (None: there was none)."""
    last_s: float | None
    reasons: dict[str, int]

    @property
    def span_s(self) -> float:
        """Seconds from the first to the last refusal: how long reports were refused."""
        if self.first_s is None or self.last_s is None:
            return 0.0
        return round(self.last_s - self.first_s, 2)


@dataclass
class SoakResult:
    config: SoakConfig
    started: str
    wall_s: float = 0
    load_s: float = 0
    drain_s: float = 0
    reports_sent: int = 0
    requests: int = 0
    accepted: int = 0
    accepted_on_retry: int = 0
    unresolved: int = 0
    rejected: int = 0
    rejected_examples: list[str] = field(default_factory=list)
    duplicates_sent: int = 0
    duplicates_answered_duplicate: int = 0
    retries: int = 0
    retry_reasons: dict[str, int] = field(default_factory=dict)
    faults: list[InjectedFault] = field(default_factory=list)
    faults_by_kind: dict[str, int] = field(default_factory=dict)
    unexpected_exits: dict[str, int] = field(default_factory=dict)
    redis_appendfsync: str = ""
    failovers: list[Failover] = field(default_factory=list)
    refusal_windows: list[RefusalWindow] = field(default_factory=list)
    verdict: verify.Verdict = field(default_factory=verify.Verdict)

    @property
    def failures(self) -> list[str]:
        found = list(self.verdict.failures)
        if self.rejected:
            found.append(f"{self.rejected} reports rejected: {self.rejected_examples[:3]}")
        if self.unresolved:
            found.append(f"{self.unresolved} reports never answered (the system did not recover)")
        return found

    @property
    def ok(self) -> bool:
        return not self.failures


def run_soak(config: SoakConfig) -> SoakResult:
    if config.workdir is not None:
        config.workdir.mkdir(parents=True, exist_ok=True)
        return asyncio.run(_run(config, config.workdir))
    with tempfile.TemporaryDirectory(prefix="pacer-soak-") as directory:
        return asyncio.run(_run(config, Path(directory)))


async def _run(config: SoakConfig, directory: Path) -> SoakResult:
    started_wall = time.monotonic()
    result = SoakResult(config, datetime.now().astimezone().isoformat(timespec="seconds"))
    targets = load_targets()
    rng = random.Random(config.seed)
    run_id = f"{config.seed}-{int(time.time())}"
    env = {"PACER_REDIS_MIN_REPLICAS": str(config.min_replicas)} if config.min_replicas else {}
    system = SoakSystem(
        directory,
        targets,
        random.Random(rng.random()),
        sentinel=config.sentinel,
        replica_lag_s=config.replica_lag_ms / 1000,
        env=env,
    )
    with system.running():
        redis = connect(system.redis.url, timeout_s=5)  # behind sentinels: the current primary
        result.redis_appendfsync = str((await redis.config_get("appendfsync"))["appendfsync"])
        logs = await _load(config, system, rng, run_id, result)
        system.revive_exited()
        accepted = [report for log in logs for report in log.accepted]
        unresolved = [report for log in logs for report in log.unresolved]
        result.drain_s = await verify.wait_drained(redis, accepted, config.drain_timeout_s)
        verdict = result.verdict
        for log in logs:
            verdict.duplicated += log.duplicates_answered_accepted
        await verify.check_reports(redis, verdict, accepted, unresolved)
        await verify.check_pipeline(redis, verdict)
        async with httpx.AsyncClient(base_url=system.api_url, timeout=10) as api:
            expected = await verify.check_alerts(
                redis, verdict, targets, datetime.fromisoformat(NOW), api, system.admin_token, 10
            )
        verify.check_notifications(verdict, system.receiver.received, expected, WEBHOOK_SECRET)
        await redis.aclose()
        result.unexpected_exits = dict(system.unexpected_exits)
        result.failovers = list(system.failovers)
        _summarize_logs(result, logs)
    result.wall_s = round(time.monotonic() - started_wall, 1)
    return result


async def _load(
    config: SoakConfig, system: SoakSystem, rng: random.Random, run_id: str, result: SoakResult
) -> list[ClientLog]:
    stop = asyncio.Event()
    give_up_at = [float("inf")]
    logs = [ClientLog() for _ in range(config.clients)]
    actions: dict[Fault, Callable[[], None]] = {
        Fault.AGGREGATOR_KILL: lambda: system.kill_and_restart("aggregator"),
        Fault.ALERTING_KILL: lambda: system.kill_and_restart("alerting"),
        Fault.REDIS_RESTART: system.restart_redis,
        Fault.PRIMARY_KILL: system.kill_primary,
    }
    monkey = ChaosMonkey(actions={kind: actions[kind] for kind in config.kinds}, rng=rng)
    plan = plan_faults(
        rng,
        config.duration_s,
        config.mean_fault_gap_s,
        config.force_each_fault,
        kinds=config.kinds,
        forced_from=config.forced_from,
    )
    limits = httpx.Limits(max_connections=config.clients, max_keepalive_connections=config.clients)
    async with httpx.AsyncClient(
        base_url=system.api_url, timeout=REQUEST_TIMEOUT_S, limits=limits
    ) as api:
        started = time.monotonic()
        clients = [
            asyncio.create_task(
                run_client(
                    api,
                    system.city_tokens,
                    ReportFactory(system.targets, index, random.Random(rng.random()), run_id),
                    random.Random(rng.random()),
                    logs[index],
                    stop,
                    give_up_at,
                    pause_s=config.client_pause_s,
                )
            )
            for index in range(config.clients)
        ]
        chaos = asyncio.create_task(monkey.run(plan, started, stop))
        watchdog = asyncio.create_task(_watch(system, stop))
        await asyncio.sleep(config.duration_s)
        result.load_s = round(time.monotonic() - started, 1)
        # The fault in progress finishes (its process restarts) before the clients are cut off.
        await chaos
        stop.set()
        give_up_at[0] = time.monotonic() + config.answer_grace_s
        await asyncio.gather(*clients)
        await watchdog
    result.faults = monkey.injected
    result.faults_by_kind = monkey.counts()
    result.refusal_windows = _refusal_windows(logs, started, monkey.injected)
    return logs


def _refusal_windows(
    logs: list[ClientLog], started: float, faults: list[InjectedFault]
) -> list[RefusalWindow]:
    """For each kill of the primary, the refusals from it until the next fault."""
    moments = sorted(f.at_s for f in faults)
    retries = sorted((at - started, reason) for log in logs for at, reason in log.retry_times)
    windows = []
    for fault in (f for f in faults if f.kind is Fault.PRIMARY_KILL):
        until = next((at for at in moments if at > fault.at_s), float("inf"))
        inside = [(at, reason) for at, reason in retries if fault.at_s <= at < until]
        reasons: dict[str, int] = {}
        for _, reason in inside:
            reasons[reason] = reasons.get(reason, 0) + 1
        windows.append(
            RefusalWindow(
                fault_at_s=fault.at_s,
                count=len(inside),
                first_s=round(inside[0][0] - fault.at_s, 2) if inside else None,
                last_s=round(inside[-1][0] - fault.at_s, 2) if inside else None,
                reasons=reasons,
            )
        )
    return windows


async def _watch(system: SoakSystem, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await asyncio.to_thread(system.revive_exited)
        await asyncio.sleep(1)


def _summarize_logs(result: SoakResult, logs: list[ClientLog]) -> None:
    for log in logs:
        result.reports_sent += log.sent
        result.requests += log.requests
        result.accepted += len(log.accepted)
        result.accepted_on_retry += log.accepted_on_retry
        result.unresolved += len(log.unresolved)
        result.rejected += len(log.rejected)
        result.rejected_examples += [
            f"{report.report_id} -> {status} {text}" for report, status, text in log.rejected[:2]
        ]
        result.duplicates_sent += log.duplicates_sent
        result.duplicates_answered_duplicate += log.duplicates_answered_duplicate
        result.retries += log.retries
        for reason, count in log.retry_reasons.items():
            result.retry_reasons[reason] = result.retry_reasons.get(reason, 0) + count


def as_json(result: SoakResult) -> dict[str, Any]:
    verdict = result.verdict
    return {
        "started": result.started,
        "ok": result.ok,
        "failures": result.failures,
        "config": {
            "duration_s": result.config.duration_s,
            "clients": result.config.clients,
            "seed": result.config.seed,
            "mean_fault_gap_s": result.config.mean_fault_gap_s,
            "redis": _redis_mode(result.config),
            "min_replicas": result.config.min_replicas,
            "replica_lag_ms": result.config.replica_lag_ms,
        },
        "wall_s": result.wall_s,
        "load_s": result.load_s,
        "drain_s": result.drain_s,
        "redis_appendfsync": result.redis_appendfsync,
        "reports_sent": result.reports_sent,
        "requests": result.requests,
        "accepted": result.accepted,
        "accepted_on_retry": result.accepted_on_retry,
        "unresolved": result.unresolved,
        "rejected": result.rejected,
        "duplicates_sent": result.duplicates_sent,
        "duplicates_answered_duplicate": result.duplicates_answered_duplicate,
        "retries": result.retries,
        "retry_reasons": result.retry_reasons,
        "applied": verdict.applied,
        "lost": verdict.lost,
        "duplicated": verdict.duplicated,
        "sites_expected": verdict.sites_expected,
        "sites_stored": verdict.sites_stored,
        "faults_by_kind": result.faults_by_kind,
        "faults": [
            {"kind": str(f.kind), "at_s": f.at_s, "recovery_s": f.recovery_s} for f in result.faults
        ],
        "failovers": [
            {"promoted_s": f.promoted_s, "rejoined_s": f.rejoined_s} for f in result.failovers
        ],
        "refusals_around_failovers": [
            {
                "fault_at_s": w.fault_at_s,
                "count": w.count,
                "first_s": w.first_s,
                "last_s": w.last_s,
                "span_s": w.span_s,
                "reasons": w.reasons,
            }
            for w in result.refusal_windows
        ],
        "unexpected_exits": result.unexpected_exits,
        "pending": verdict.pending,
        "lag": verdict.lag,
        "dead_letters": verdict.dead_letters,
        "deliveries_due": verdict.deliveries_due,
        "alerts_expected": verdict.alerts_expected,
        "alerts_active": verdict.alerts_active,
        "alerts_api": verdict.alerts_api,
        "alerts_mismatch": verdict.alerts_mismatch,
        "notifications_received": verdict.notifications_received,
        "notifications_distinct": verdict.notifications_distinct,
        "notifications_redelivered": verdict.notifications_redelivered,
        "transitions_notified": verdict.transitions_notified,
        "double_notifications": verdict.double_notifications,
        "misgrouped": verdict.misgrouped,
        "notifications_truncated": verdict.notifications_truncated,
        "bad_signatures": verdict.bad_signatures,
        "notification_mismatch": verdict.notification_mismatch,
    }


def table(result: SoakResult) -> str:
    doc = as_json(result)
    faults = ", ".join(f"{kind} {count}" for kind, count in result.faults_by_kind.items())
    verdict = result.verdict
    rows = [
        (
            "duration: load / drain / wall",
            _slash(doc["load_s"], doc["drain_s"], doc["wall_s"], "s"),
        ),
        ("clients", str(result.config.clients)),
        ("redis", _redis_mode(result.config)),
        ("reports sent", str(doc["reports_sent"])),
        ("requests (with retries)", str(doc["requests"])),
        (
            "accepted (202; or 200 duplicate on a retry)",
            _slash(doc["accepted"], doc["accepted_on_retry"]),
        ),
        (
            "duplicates re-sent / answered duplicate",
            _slash(doc["duplicates_sent"], doc["duplicates_answered_duplicate"]),
        ),
        ("retries", f"{doc['retries']} {doc['retry_reasons']}"),
        ("applied", str(doc["applied"])),
        ("lost (must be 0)", str(doc["lost"])),
        ("duplicated (must be 0)", str(doc["duplicated"])),
        ("unanswered at the end", str(doc["unresolved"])),
        ("sites expected / stored", _slash(doc["sites_expected"], doc["sites_stored"])),
        ("faults injected", faults),
        *_failover_rows(result),
        ("unexpected service exits", str(doc["unexpected_exits"] or 0)),
        (
            "pending / dead letters / deliveries due",
            _slash(sum(verdict.pending.values()), doc["dead_letters"], doc["deliveries_due"]),
        ),
        (
            "alerts expected / active / GET /v1/alerts",
            _slash(doc["alerts_expected"], doc["alerts_active"], doc["alerts_api"]),
        ),
        (
            "webhooks received / distinct / redelivered / cut off",
            _slash(
                doc["notifications_received"],
                doc["notifications_distinct"],
                doc["notifications_redelivered"],
                doc["notifications_truncated"],
            ),
        ),
        ("alert transitions in them (one group a webhook)", str(doc["transitions_notified"])),
        ("webhooks with a bad signature (must be 0)", str(doc["bad_signatures"])),
        ("transitions notified twice (must be 0)", str(len(doc["double_notifications"]))),
        ("result", "PASS" if result.ok else "FAIL: " + "; ".join(result.failures)),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"| {'':{width}} | |", f"|{'-' * (width + 2)}|---|"]
    lines += [f"| {name:{width}} | {value} |" for name, value in rows]
    return "\n".join(lines)


def _redis_mode(config: SoakConfig) -> str:
    if not config.sentinel:
        return "one redis-server (AOF everysec)"
    lag = f", replication {config.replica_lag_ms:g} ms behind" if config.replica_lag_ms else ""
    return (
        "Sentinel: 1 primary + 1 replica (AOF everysec) + 3 sentinels, "
        f"PACER_REDIS_MIN_REPLICAS={config.min_replicas}{lag}"
    )


def _failover_rows(result: SoakResult) -> list[tuple[str, str]]:
    rows = []
    for index, (failover, window) in enumerate(
        zip(result.failovers, result.refusal_windows, strict=False), start=1
    ):
        rows.append(
            (
                f"failover {index}: replica promoted / old primary back as replica",
                _slash(failover.promoted_s, failover.rejoined_s, "s"),
            )
        )
        span = (
            f"{window.count} from +{window.first_s} s to +{window.last_s} s ({window.span_s} s)"
            if window.count
            else "none"
        )
        rows.append((f"failover {index}: retries after the kill", f"{span} {window.reasons}"))
    return rows


def _slash(*values: object) -> str:
    """``a / b / c``; a trailing unit string is appended once (``1 / 2 s``)."""
    unit = values[-1] if isinstance(values[-1], str) else ""
    numbers = values[:-1] if unit else values
    return " / ".join(str(v) for v in numbers) + (f" {unit}" if unit else "")
