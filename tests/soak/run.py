"""One soak run: start a private Pacer, load it while injecting faults, drain, check, summarize."""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis

from shared.targets import load_targets
from tests.soak import verify
from tests.soak.chaos import ChaosMonkey, Fault, InjectedFault, plan_faults
from tests.soak.load import NOW, REQUEST_TIMEOUT_S, ClientLog, ReportFactory, run_client
from tests.soak.system import WEBHOOK_SECRET, SoakSystem


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
    system = SoakSystem(directory, targets, random.Random(rng.random()))
    with system.running():
        redis = Redis(port=system.redis.port, decode_responses=True, socket_timeout=5)
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
        _summarize_logs(result, logs)
    result.wall_s = round(time.monotonic() - started_wall, 1)
    return result


async def _load(
    config: SoakConfig, system: SoakSystem, rng: random.Random, run_id: str, result: SoakResult
) -> list[ClientLog]:
    stop = asyncio.Event()
    give_up_at = [float("inf")]
    logs = [ClientLog() for _ in range(config.clients)]
    monkey = ChaosMonkey(
        actions={
            Fault.AGGREGATOR_KILL: lambda: system.kill_and_restart("aggregator"),
            Fault.ALERTING_KILL: lambda: system.kill_and_restart("alerting"),
            Fault.REDIS_RESTART: system.restart_redis,
        },
        rng=rng,
    )
    plan = plan_faults(rng, config.duration_s, config.mean_fault_gap_s, config.force_each_fault)
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
    return logs


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


def _slash(*values: object) -> str:
    """``a / b / c``; a trailing unit string is appended once (``1 / 2 s``)."""
    unit = values[-1] if isinstance(values[-1], str) else ""
    numbers = values[:-1] if unit else values
    return " / ".join(str(v) for v in numbers) + (f" {unit}" if unit else "")
