"""What every benchmark shares: sizes, figures with their baseline and goal, the printed table and
the JSON file, tokens for synthetic cities, and the processes (the same helpers the tests use).

A figure is always a pair, Pacer's value and a baseline measured in the same run on the same
payloads, because this machine drifts by a quarter within half an hour: only ratios compare.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from services.cli.tokens import IssuedToken, tokens_yaml
from tests.support.processes import (  # re-exported: one way to run real processes
    REPO_ROOT,
    RedisServer,
    Service,
    free_port,
    stop_process,
    wait_until,
)

__all__ = [
    "REPO_ROOT",
    "Figure",
    "Goal",
    "RedisServer",
    "Report",
    "Service",
    "Size",
    "free_port",
    "need_binary",
    "pacer_env",
    "profiled",
    "stop_process",
    "wait_until",
    "write_tokens_file",
]

RESULTS_DIR = REPO_ROOT / "bench" / "results"

Size = Literal["tiny", "full"]
"""tiny: seconds, for the smoke test in `make test`; full: the figures BENCHMARKS.md reports."""


def need_binary(name: str) -> str:
    """The binary's path, or a clear failure: a benchmark never silently measures less."""
    path = shutil.which(name)
    if not path:
        raise SystemExit(f"bench: {name} is not installed (apt: see .ci/run)")
    return path


@dataclass(frozen=True)
class Goal:
    """What the figure should reach (from the benchmark issue); reported, never enforced."""

    value: float
    kind: Literal["ratio_at_least", "value_at_most", "value_at_least"]
    text: str

    def verdict(self, figure: Figure) -> str:
        actual = figure.ratio if self.kind == "ratio_at_least" else figure.value
        if actual is None:
            return "n/a"
        if self.kind == "value_at_most":
            met = actual <= self.value
            miss = (actual - self.value) / self.value if self.value else float("inf")
        else:
            met = actual >= self.value
            miss = (self.value - actual) / self.value if self.value else float("inf")
        return "met" if met else f"missed by {miss:.0%}"


@dataclass
class Figure:
    benchmark: str
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    higher_is_better: bool = True
    goal: Goal | None = None
    notes: str = ""

    @property
    def ratio(self) -> float | None:
        """Pacer relative to the baseline, >1 always meaning Pacer is better."""
        if self.baseline is None or self.baseline == 0 or self.value == 0:
            return None
        return self.value / self.baseline if self.higher_is_better else self.baseline / self.value

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["goal"] = self.goal.text if self.goal else None
        data["goal_verdict"] = self.goal.verdict(self) if self.goal else None
        data["ratio"] = self.ratio
        return data


@dataclass
class Report:
    """The figures of one `python -m bench` run: printed as a table and written as JSON."""

    size: Size
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    figures: list[Figure] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        print(_row(figure), flush=True)
        return figure

    def extend(self, figures: Iterable[Figure]) -> None:
        for figure in figures:
            self.add(figure)

    def table(self) -> str:
        lines = [_HEADER, "-" * len(_HEADER)]
        lines += [_row(figure) for figure in self.figures]
        return "\n".join(lines)

    def markdown(self) -> str:
        lines = [
            "| benchmark | figure | Pacer | baseline | ratio | goal | verdict |",
            "|---|---|---|---|---|---|---|",
        ]
        for f in self.figures:
            baseline = f"{_num(f.baseline)} {f.unit} ({f.baseline_name})" if f.baseline else "-"
            ratio = f"{f.ratio:.2f}x" if f.ratio is not None else "-"
            goal = f.goal.text if f.goal else "-"
            verdict = f.goal.verdict(f) if f.goal else "-"
            lines.append(
                f"| {f.benchmark} | {f.name} | {_num(f.value)} {f.unit} | {baseline} | {ratio} "
                f"| {goal} | {verdict} |"
            )
        return "\n".join(lines)

    def write(self, directory: Path | None = None) -> Path:
        """Into ``directory``, else $PACER_BENCH_RESULTS_DIR (the smoke test's temp dir), else
        bench/results/."""
        directory = directory or Path(os.environ.get("PACER_BENCH_RESULTS_DIR") or RESULTS_DIR)
        directory.mkdir(parents=True, exist_ok=True)
        stamp = self.started_at.replace(":", "").replace("-", "")
        path = directory / f"bench-{self.size}-{stamp}.json"
        document = {
            "started_at": self.started_at,
            "size": self.size,
            "machine": machine(),
            "timings_s": self.timings,
            "figures": [figure.as_dict() for figure in self.figures],
        }
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return path


_HEADER = (
    f"{'benchmark':<12} {'figure':<34} {'Pacer':>16} {'baseline':>16} {'ratio':>7}  goal / verdict"
)


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _row(f: Figure) -> str:
    ratio = f"{f.ratio:.2f}x" if f.ratio is not None else "-"
    goal = f"{f.goal.text}: {f.goal.verdict(f)}" if f.goal else ""
    return (
        f"{f.benchmark:<12} {f.name:<34} {_num(f.value) + ' ' + f.unit:>16} "
        f"{(_num(f.baseline) + ' ' + f.unit) if f.baseline else '-':>16} {ratio:>7}  {goal}"
    )


def machine() -> dict[str, object]:
    return {
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def token_for(city: str) -> str:
    """A deterministic bearer token per city (benchmark-only secrets)."""
    return f"bench-{city}"


ADMIN_TOKEN = "bench-admin"


def write_tokens_file(path: Path, cities: Iterable[str]) -> Path:
    """A tokens file with one city token per city (token_for) and one admin (ADMIN_TOKEN)."""
    issued = [IssuedToken(f"{city}-bench", "city", city, token_for(city)) for city in cities]
    issued.append(IssuedToken("bench-admin", "admin", None, ADMIN_TOKEN))
    path.write_text(tokens_yaml(issued))
    return path


BENCH_CLOCK = "fixed:2024-07-15T12:00:00+08:00"
"""A fixed instant in 2024-07: reports for 2024-06 (as_of 2024-06-30) are valid and on time."""


def pacer_env(
    redis: RedisServer, targets_file: Path, tokens_file: Path, **extra: str
) -> dict[str, str]:
    """The environment of a benchmarked Pacer service: private Redis, the benchmark's targets and
    tokens, a fixed clock, and the overload guards (backlog bound, rate limit) set so high they
    never refuse, since refusals would measure the guard rather than the pipeline; both checks
    still run on every request, so their cost is in the figures."""
    return {
        "PACER_REDIS_URL": redis.url,
        "PACER_TARGETS_FILE": str(targets_file),
        "PACER_TOKENS_FILE": str(tokens_file),
        "PACER_CLOCK": BENCH_CLOCK,
        "PACER_CONSUMER_NAME": "bench",
        "PACER_MAX_BACKLOG": "1000000000",
        "PACER_RATE_LIMIT_RPS": "1000000",
        "PACER_RATE_LIMIT_BURST": "1000000",
        **extra,
    }


@contextlib.contextmanager
def profiled(benchmark: str, services: Iterable[Service]) -> Iterator[None]:
    """With BENCH_PROFILE=<dir>, sample each service with py-spy while the block runs and write
    collapsed stacks to <dir>/<benchmark>-<service>.txt (flame-graph input; `--format raw`)."""
    directory = os.environ.get("BENCH_PROFILE")
    if not directory:
        yield
        return
    Path(directory).mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    samplers = []
    for service in services:
        assert service.process is not None
        output = Path(directory) / f"{benchmark}-{service.name}.txt"
        command = [spy, "record", "--pid", str(service.process.pid), "--rate", "250"]
        command += ["--format", "raw", "--nonblocking", "-o", str(output)]
        samplers.append(subprocess.Popen(command, stdout=subprocess.DEVNULL))
    time.sleep(0.5)  # py-spy attaches asynchronously
    try:
        yield
    finally:
        for sampler in samplers:
            sampler.send_signal(signal.SIGINT)
        for sampler in samplers:
            sampler.wait(timeout=30)


class Stopwatch:
    """Wall time of a block, for the run's own timing table."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started
