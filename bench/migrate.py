"""Migrate: ``pacer migrate`` on a v1 store of the national size, and what it saves.

The store is loaded as v1 Pacer kept it (``shared.store.sites.migration``'s docstring): each site
in its city's hash as ``"<version>\\t<record>"`` and in the global owner index, 340 cities of
11,765 sites (4,000,100) at full size, 20 of 1,000 at tiny size. Then ``pacer migrate`` runs as
an operator runs it (its own process, while nothing else writes).

Figures:
- seconds of ``pacer migrate`` from start to exit, beside the seconds the v1 store took to write
  with pipelined HSETs (the least a full copy of the sites costs from one Python process);
- Redis bytes per site before (v1) and after (v2), each ``used_memory`` minus that of the empty
  store over the sites, once the v1 keys' lazy frees are done.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import redis

from bench.harness import Figure, Goal, RedisServer, Report, need_binary, pacer_env
from bench.scale import _site, stored_sites, used_memory
from bench.synthetic import write_targets_file
from shared import names

SIZES = {"tiny": (20, 1_000), "full": (340, 11_765)}
"""size -> (cities, sites per city)."""
VERSION = "2024-06-30/001720000000000-0000000000"


def write_v1_store(client: redis.Redis, cities: list[str], per_city: int) -> float:
    """Seconds to write the v1 store: city hashes and owner index, 1,000 sites per HSET."""
    started = time.perf_counter()
    for city in cities:
        pipe = client.pipeline(transaction=False)
        for start in range(0, per_city, 1000):
            chunk = [_site(city, n) for n in range(start, min(start + 1000, per_city))]
            records = {site_id: f"{VERSION}\t{record}" for site_id, _, record in chunk}
            pipe.hset(names.city_sites_key(city), mapping=records)  # type: ignore[arg-type]
            pipe.hset(names.SITE_OWNER_KEY, mapping=dict.fromkeys(records, city))
        pipe.execute()
    return time.perf_counter() - started


def settled_memory(client: redis.Redis) -> int:
    """``used_memory`` once Redis has freed what UNLINK handed its background thread."""
    while int(client.info("memory").get("lazyfree_pending_objects", 0)):
        time.sleep(0.1)
    return used_memory(client)


def run(report: Report, workdir: Path) -> None:
    need_binary("redis-server")
    count, per_city = SIZES[report.size]
    workdir.mkdir(parents=True, exist_ok=True)
    targets_file = workdir / "targets.yaml"
    cities = write_targets_file(targets_file, count, sites_per_city=per_city)
    tokens_file = workdir / "tokens.yaml"
    tokens_file.write_text("tokens: []\n", encoding="utf-8")
    server = RedisServer(workdir / "redis").start()
    try:
        client = redis.Redis(port=server.port)
        empty = used_memory(client)
        write_s = write_v1_store(client, cities, per_city)
        sites = count * per_city
        v1_per_site = (used_memory(client) - empty) / sites
        env = pacer_env(server, targets_file, tokens_file)
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "services.cli", "migrate"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        migrate_s = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"migrate: pacer migrate failed: {done.stderr}")
        if stored_sites(client, cities) != sites or client.exists(names.SITE_OWNER_KEY):
            raise SystemExit("migrate: the v2 store does not hold every site, or v1 is left")
        v2_per_site = (settled_memory(client) - empty) / sites
    finally:
        server.stop()
    shape = f"{sites:,} sites, {count} cities of {per_city:,}"
    report.add(
        Figure(
            "migrate",
            f"pacer migrate, {sites:,} v1 sites",
            migrate_s,
            "s",
            baseline=write_s,
            baseline_name="writing the v1 store, pipelined HSET",
            higher_is_better=False,
            notes=f"{shape}; {done.stdout.strip()}",
        )
    )
    report.add(
        Figure(
            "migrate",
            f"Redis bytes per site after migrate, {count} cities",
            v2_per_site,
            "B",
            baseline=v1_per_site,
            baseline_name="the same sites in v1 (city hash + owner index)",
            higher_is_better=False,
            goal=Goal(100, "value_at_most", "<= 100 B/site"),
            notes=shape,
        )
    )
