"""What "acknowledged means replicated" costs: Pacer's ingest with ``PACER_REDIS_MIN_REPLICAS=1``
against the same ingest with 0, both writing to one primary that has one replica (loopback).

With 1, the accept script is followed by ``WAIT 1 500`` on the same connection, in the same round
trip (shared/store/replication.py): the answer waits until the replica has acknowledged the
report, which costs the primary a ``REPLCONF GETACK`` round trip to the replica. With 0 the
replica is there too, receiving the same stream, so the comparison isolates the wait. Same
payloads, wrk slices taken in turn and the open loop at half capacity as ``bench/ingest.py``; one
instance each. The URL is the primary's own: through the sentinels (``redis+sentinel://``) it is
the same per request, the sentinels being asked only when a connection opens.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import redis

from bench.harness import (
    Figure,
    RedisServer,
    Report,
    need_binary,
    pacer_env,
    token_for,
    wait_until,
    write_tokens_file,
)
from bench.ingest import (
    PLANS,
    THROTTLE_NOTE,
    Measured,
    capacity_figures,
    measure_apps,
    pacer_ingest,
)
from bench.payloads import KINDS
from shared.targets import load_targets
from shared.targets.loader import DEFAULT_TARGETS_FILE

VERSUS = "same ingest, PACER_REDIS_MIN_REPLICAS=0"


def run(report: Report, workdir: Path) -> None:
    plan = replace(PLANS[report.size], instances=(1,))
    wrk_binary = need_binary("wrk")
    cities = list(load_targets(None).cities)
    credentials = [(city, token_for(city)) for city in cities]
    tokens_file = write_tokens_file(workdir / "tokens.yaml", cities)
    primary = RedisServer(workdir / "primary").start()
    replica = RedisServer(
        workdir / "replica", extra_args=("--replicaof", "127.0.0.1", str(primary.port))
    ).start()
    print(f"   {THROTTLE_NOTE}; one replica attached to the primary in both")
    try:
        wait_until(lambda: _in_sync(replica), timeout=30)
        store = redis.Redis(port=primary.port)
        base = pacer_env(primary, DEFAULT_TARGETS_FILE, tokens_file)
        (workdir / "min1").mkdir()
        (workdir / "min0").mkdir()
        with (
            pacer_ingest(1, base | {"PACER_REDIS_MIN_REPLICAS": "1"}, workdir / "min1") as waits,
            pacer_ingest(1, base | {"PACER_REDIS_MIN_REPLICAS": "0"}, workdir / "min0") as plain,
        ):
            for kind in KINDS:
                both = measure_apps(
                    {"pacer": waits, "baseline": plain},
                    kind,
                    plan=plan,
                    wrk_binary=wrk_binary,
                    store=store,
                    credentials=credentials,
                )
                report.extend(_figures(kind, both["pacer"], both["baseline"]))
        store.close()
    finally:
        replica.stop()
        primary.stop()


def _in_sync(replica: RedisServer) -> bool:
    with redis.Redis(port=replica.port, decode_responses=True) as client:
        return bool(client.info("replication")["master_link_status"] == "up")


def _figures(kind: str, waits: Measured, plain: Measured) -> list[Figure]:
    return capacity_figures("replicas", f"{kind} MIN_REPLICAS=1", VERSUS, waits, plain)
