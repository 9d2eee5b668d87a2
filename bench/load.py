"""Load generators: wrk at a fixed concurrency (capacity), an open loop at a fixed rate (latency).

Closed loop: wrk with bench/wrk/reports.lua, one wrk process per instance, the connections split
between them; their latency histograms are merged exactly (wrk records microsecond buckets).

Open loop: wrk2 is not packaged here, and wrk paced from Lua still waits for each answer before
the next request on a connection, so a slow answer delays the requests behind it and hides them
(coordinated omission). ``open_loop`` instead starts request i at ``start + i / rate`` whatever
happened before, on an idle keep-alive connection or a new one, and measures its latency from that
intended start: time spent waiting for a connection counts, as it would for a real client.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk" / "reports.lua"
Endpoint = tuple[str, int]


@dataclass
class Latencies:
    """A latency histogram in microseconds: exact to the microsecond, cheap to merge."""

    counts: Counter[int] = field(default_factory=Counter)

    def add(self, seconds: float) -> None:
        self.counts[round(seconds * 1e6)] += 1

    def merge(self, other: Latencies) -> Latencies:
        return Latencies(self.counts + other.counts)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def percentile_ms(self, p: float) -> float:
        """The smallest latency with at least p% of the samples at or under it."""
        total = self.total
        if not total:
            return 0.0
        rank = max(1, round(total * p / 100 + 0.4999))
        seen = 0
        for micros in sorted(self.counts):
            seen += self.counts[micros]
            if seen >= rank:
                return micros / 1000
        return max(self.counts) / 1000


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies: Latencies
    failed: int
    """Answers other than 2xx, socket errors and timeouts."""
    errors: Counter[str] = field(default_factory=Counter)
    """Failures by kind, where the generator knows them (open loop)."""
    cpu_s: float = 0.0
    """CPU time (user + system) the servers spent meanwhile, where their pids were given."""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        """The servers' CPU per request: unlike the rate, barely moved by other load on the
        machine (what others take from the cores shows as wait, not as this process's CPU)."""
        return 1000 * self.cpu_s / self.requests if self.requests else 0.0

    def describe(self) -> str:
        return (
            f"{self.rate:,.0f} req/s, p50 {self.latencies.percentile_ms(50):.1f} ms, "
            f"p99 {self.latencies.percentile_ms(99):.1f} ms, {self.failed} failed"
            + (f" {dict(self.errors)}" if self.errors else "")
        )


def combined(results: Sequence[LoadResult]) -> LoadResult:
    """Several runs of one load as one: their requests over their summed time."""
    latencies = Latencies()
    for result in results:
        latencies = latencies.merge(result.latencies)
    return LoadResult(
        requests=sum(r.requests for r in results),
        seconds=sum(r.seconds for r in results),
        latencies=latencies,
        failed=sum(r.failed for r in results),
        cpu_s=sum(r.cpu_s for r in results),
    )


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc; every thread counted)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def wrk(
    wrk_binary: str,
    endpoints: Sequence[Endpoint],
    *,
    kind: str,
    tag: str,
    credentials: Sequence[tuple[str, str]],
    seconds: int,
    connections: int = 64,
    threads: int = 2,
    pids: Sequence[int] = (),
) -> LoadResult:
    """Run wrk against every endpoint at once, ``connections`` and ``threads`` split between them.

    ``credentials`` are (city, token) pairs the requests rotate over; ``kind`` is a report kind or
    ``push`` (see the Lua script). ``pids``: the servers whose CPU time to count.
    """
    cpu_before = cpu_seconds(pids)
    per_connections = max(1, connections // len(endpoints))
    per_threads = max(1, threads // len(endpoints))
    pairs = [f"{city}={token}" for city, token in credentials]
    processes = [
        subprocess.Popen(
            [
                wrk_binary,
                f"-t{per_threads}",
                f"-c{per_connections}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                str(WRK_SCRIPT),
                f"http://{host}:{port}/",
                "--",
                kind,
                f"{tag}-{index}",
                *pairs,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index, (host, port) in enumerate(endpoints)
    ]
    results = [_wrk_result(process, seconds) for process in processes]
    cpu_s = cpu_seconds(pids) - cpu_before
    merged = Latencies()
    for result in results:
        merged = merged.merge(result.latencies)
    return LoadResult(
        requests=sum(r.requests for r in results),
        seconds=max(r.seconds for r in results),
        latencies=merged,
        failed=sum(r.failed for r in results),
        cpu_s=cpu_s,
    )


def _wrk_result(process: subprocess.Popen[str], seconds: int) -> LoadResult:
    stdout, stderr = process.communicate(timeout=seconds + 60)
    line = next((x for x in stdout.splitlines() if x.startswith("WRK_RESULT ")), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}): {stderr.strip()} {stdout[-500:]}")
    data = json.loads(line.removeprefix("WRK_RESULT "))
    latencies = Latencies(Counter({int(us): int(n) for us, n in data["histogram_us"]}))
    return LoadResult(
        requests=int(data["requests"]),
        seconds=int(data["duration_us"]) / 1e6,
        latencies=latencies,
        failed=int(data["status_errors"]) + int(data["socket_errors"]) + int(data["timeouts"]),
    )


_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
IDLE_REUSE_S = 1.0
"""An idle connection older than this is closed, not reused: uvicorn closes them after 5 s."""
MAX_CONNECTIONS = 64
"""Per endpoint, as many as wrk's. Beyond it a request waits for a connection (and its latency
counts the wait): an unbounded client would answer a slow second with hundreds of new sockets,
and past 100 requests in flight redis-py's default pool refuses (Pacer answers 503)."""

RequestFor = Callable[[int], tuple[Endpoint, bytes]]
"""Request number -> where to send it and its raw HTTP/1.1 bytes."""


class _Pool:
    """Keep-alive connections to one endpoint: at most ``limit`` in use, idle ones reused."""

    def __init__(self, endpoint: Endpoint, limit: int) -> None:
        self.endpoint = endpoint
        self.in_use = asyncio.Semaphore(limit)
        self.idle: list[tuple[float, _Connection]] = []

    async def take(self, now: float) -> _Connection:
        await self.in_use.acquire()
        while self.idle:
            since, connection = self.idle.pop()
            if now - since < IDLE_REUSE_S:
                return connection
            connection[1].close()  # the server may be closing it (keep-alive timeout)
        try:
            return await asyncio.open_connection(*self.endpoint)
        except BaseException:
            self.in_use.release()
            raise

    def give_back(self, connection: _Connection, now: float) -> None:
        self.idle.append((now, connection))
        self.in_use.release()

    def lost(self, connection: _Connection) -> None:
        connection[1].close()
        self.in_use.release()

    def close(self) -> None:
        for _, (_, writer) in self.idle:
            writer.close()
        self.idle.clear()


async def open_loop(
    request_for: RequestFor,
    *,
    rate: float,
    seconds: float,
    timeout_s: float = 10.0,
    stop: asyncio.Event | None = None,
) -> LoadResult:
    """Send ``rate`` requests per second for ``seconds`` (or until ``stop`` is set), each
    started on schedule."""
    loop = asyncio.get_running_loop()
    pools: dict[Endpoint, _Pool] = {}
    latencies = Latencies()
    failed = 0
    errors: Counter[str] = Counter()

    async def one(number: int, due: float) -> None:
        nonlocal failed
        endpoint, raw = request_for(number)
        pool = pools.get(endpoint) or pools.setdefault(endpoint, _Pool(endpoint, MAX_CONNECTIONS))
        connection: _Connection | None = None
        try:
            async with asyncio.timeout(timeout_s):
                connection = await pool.take(loop.time())
                connection[1].write(raw)
                status, _, keep_alive = await _read_response(connection[0])
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            failed += 1
            errors[type(exc).__name__] += 1
            if connection is not None:
                pool.lost(connection)
            return
        latencies.add(loop.time() - due)
        if status >= 300:
            failed += 1
            errors[f"HTTP {status}"] += 1
        if keep_alive:
            pool.give_back(connection, loop.time())
        else:
            pool.lost(connection)

    tasks: set[asyncio.Task[None]] = set()
    start = loop.time() + 0.01
    total = int(rate * seconds)
    for number in range(total):
        due = start + number / rate
        if (delay := due - loop.time()) > 0:
            await asyncio.sleep(delay)
        if stop is not None and stop.is_set():
            total = number
            break
        task = asyncio.create_task(one(number, due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(set(tasks))
    elapsed = loop.time() - start
    for pool in pools.values():
        pool.close()
    return LoadResult(
        requests=total, seconds=elapsed, latencies=latencies, failed=failed, errors=errors
    )


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep-alive) of one HTTP/1.1 answer with a Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines[1:] if line)
    }
    if "content-length" not in headers:
        raise ValueError("the open-loop client reads Content-Length answers only")
    body = await reader.readexactly(int(headers["content-length"]))
    return status, body, headers.get("connection", "").lower() != "close"


def run_open_loop(request_for: RequestFor, *, rate: float, seconds: float) -> LoadResult:
    """``open_loop`` from synchronous code (its own event loop)."""
    started = time.perf_counter()
    result = asyncio.run(open_loop(request_for, rate=rate, seconds=seconds))
    result.seconds = min(result.seconds, time.perf_counter() - started)
    return result
