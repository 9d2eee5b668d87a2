"""The ingest's app alone: CPU per report with no HTTP server, against the baseline app alone.

``ingest`` measures both apps behind uvicorn and h11, whose own cost per request (about half of
the baseline's) is the same for both and dilutes the difference. Here each app is called as an
ASGI app, in a process of its own, by 64 tasks in flight against a real Redis: what is measured
is only what the apps do (Pacer's composition root, ``services.ingest.main.build_app``, with the
service's logging; the baseline, ``bench.baseline_app``). The figure is process CPU per request,
the median of several rounds, each round's requests made before it is timed; the processes take
turns (Pacer, baseline, baseline, Pacer, ...).

    python -m bench ingest_app                 # as part of `make bench`
    PACER_REDIS_URL=redis://127.0.0.1:6379/0 PACER_TOKENS_FILE=... \
        python -m bench.ingest_app --drive pacer --kind gigabit --requests 6400
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from bench.harness import (
    BENCH_CLOCK,
    REPO_ROOT,
    Figure,
    RedisServer,
    Report,
    pacer_env,
    token_for,
    write_tokens_file,
)
from bench.payloads import KINDS, report_body
from shared.targets import load_targets
from shared.targets.loader import DEFAULT_TARGETS_FILE

IN_FLIGHT = 64
APPS = ("pacer", "baseline")


@dataclass(frozen=True)
class Plan:
    requests: int
    """Per round."""
    rounds: int
    """Per process."""
    turns: int
    """Processes per app, taken in turn."""


PLANS = {
    "tiny": Plan(requests=256, rounds=1, turns=1),
    "full": Plan(requests=6400, rounds=3, turns=4),
}

Asgi = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


def run(report: Report, workdir: Path) -> None:
    plan = PLANS[report.size]
    cities = list(load_targets(None).cities)
    tokens_file = write_tokens_file(workdir / "tokens.yaml", cities)
    server = RedisServer(workdir / "redis").start()
    env = {**os.environ, **pacer_env(server, DEFAULT_TARGETS_FILE, tokens_file)}
    try:
        store = redis.Redis(port=server.port)
        for kind in KINDS:
            cpu: dict[str, list[float]] = {app: [] for app in APPS}
            for turn in range(plan.turns):
                for app in APPS if turn % 2 == 0 else reversed(APPS):
                    store.flushall()
                    cpu[app] += _drive(app, kind, plan, env, workdir)
            pacer, baseline = (statistics.median(cpu[app]) for app in APPS)
            print(
                f"   {kind:<8}  us CPU per request, per round: pacer "
                f"{' '.join(f'{v:.0f}' for v in cpu['pacer'])}; baseline "
                f"{' '.join(f'{v:.0f}' for v in cpu['baseline'])}"
            )
            report.add(
                Figure(
                    "ingest_app",
                    f"{kind} app CPU per request",
                    round(pacer / 1000, 3),
                    "ms",
                    baseline=round(baseline / 1000, 3),
                    baseline_name="pydantic+XADD app, in process",
                    higher_is_better=False,
                    notes=f"ASGI, no HTTP server; {IN_FLIGHT} in flight; median of rounds",
                )
            )
        store.close()
    finally:
        server.stop()


def _drive(app: str, kind: str, plan: Plan, env: dict[str, str], workdir: Path) -> list[float]:
    """One process driving ``app``: its µs of CPU per request, per round."""
    command = [sys.executable, "-m", "bench.ingest_app", "--drive", app, "--kind", kind]
    command += ["--requests", str(plan.requests), "--rounds", str(plan.rounds)]
    with (workdir / f"{app}-{kind}.log").open("ab") as log:
        done = subprocess.run(
            command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=log, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"the {app} driver failed ({done.returncode}); see {workdir}")
    answer = json.loads(done.stdout.decode().strip().splitlines()[-1])
    if answer["statuses"] != {"202": answer["requests"]}:
        raise RuntimeError(f"the {app} app did not accept every report: {answer['statuses']}")
    return [float(v) for v in answer["us_cpu_per_request"]]


# The driver, run in a process of its own per app.


def _build(app: str) -> Asgi:
    if app == "baseline":
        from bench.baseline_app import create_app

        return create_app(os.environ["PACER_REDIS_URL"])
    from services.ingest.main import build_app
    from shared.logs import configure_logging
    from shared.settings import Settings

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format, "ingest")  # its line per report
    return build_app(settings)


def _request(kind: str, city: str, number: int, tag: str) -> tuple[dict[str, Any], bytes]:
    # n % 1000: the gigabit body's user count stays within every city's population
    body = json.dumps(report_body(kind, f"{tag}-{number}", number % 1000), separators=(",", ":"))
    data = body.encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/v1/cities/{city}/reports/{kind}",
        "raw_path": f"/v1/cities/{city}/reports/{kind}".encode(),
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"authorization", f"Bearer {token_for(city)}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(data)).encode()),
        ],
        "state": {},
    }
    return scope, data


async def _drive_in_process(app: Asgi, kind: str, requests: int, rounds: int) -> dict[str, Any]:
    cities = list(load_targets(None).cities)
    statuses: dict[str, int] = {}
    tag = f"{os.getpid()}-{time.time_ns()}"

    prepared: dict[int, tuple[dict[str, Any], bytes]] = {}

    async def one(number: int) -> None:
        scope, body = prepared.pop(number)
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # no disconnect while the app answers
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status = str(message["status"])
                statuses[status] = statuses.get(status, 0) + 1

        await app(scope, receive, send)

    def prepare(count: int, first: int) -> None:
        """The round's requests, made before it (their JSON is the driver's work, not the app's)."""
        for number in range(first, first + count // IN_FLIGHT * IN_FLIGHT):
            prepared[number] = _request(kind, cities[number % len(cities)], number, tag)

    async def round_of(count: int, first: int) -> None:
        each = count // IN_FLIGHT

        async def worker(index: int) -> None:
            for number in range(first + index * each, first + (index + 1) * each):
                await one(number)

        await asyncio.gather(*(worker(index) for index in range(IN_FLIGHT)))

    lifespan = _Lifespan(app)
    await lifespan.start()
    warm = IN_FLIGHT * 10
    prepare(warm, 0)
    await round_of(warm, 0)  # connections, caches, the scripts loaded
    statuses.clear()
    per_request: list[float] = []
    for index in range(rounds):
        first = warm + index * requests  # every report id new
        prepare(requests, first)
        started = time.process_time()
        await round_of(requests, first)
        per_request.append((time.process_time() - started) / requests * 1e6)
    await lifespan.stop()
    done = requests // IN_FLIGHT * IN_FLIGHT * rounds
    return {"us_cpu_per_request": per_request, "statuses": statuses, "requests": done}


class _Lifespan:
    """The app's startup and shutdown, as a server runs them."""

    def __init__(self, app: Asgi) -> None:
        self._app = app
        self._inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._task = asyncio.create_task(
            self._app(scope, self._inbox.get, self._outbox.put)  # type: ignore[arg-type]
        )
        await self._inbox.put({"type": "lifespan.startup"})
        answer = await self._outbox.get()
        if answer["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"startup failed: {answer}")

    async def stop(self) -> None:
        await self._inbox.put({"type": "lifespan.shutdown"})
        await self._outbox.get()
        if self._task is not None:
            await self._task


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_app")
    parser.add_argument("--drive", choices=APPS, required=True)
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--requests", type=int, default=6400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("PACER_CLOCK", BENCH_CLOCK)
    app = _build(args.drive)  # outside the loop: the composition root may run its own
    answer = asyncio.run(_drive_in_process(app, args.kind, args.requests, args.rounds))
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
