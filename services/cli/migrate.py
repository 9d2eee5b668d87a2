"""``pacer migrate``: upgrade the stored sites of a running Pacer to the compact layout (v2)."""

from __future__ import annotations

import argparse
import asyncio
import logging

from shared.settings import Settings
from shared.store.connection import connect
from shared.store.sites import migration

log = logging.getLogger("pacer.migrate")

DESCRIPTION = """\
Move the 5G sites of the store at PACER_REDIS_URL from the v1 layout (a city hash and a global
owner index, ~280 B of Redis per site) into the compact v2 layout (small bucket hashes, 58.5 B
at the national scale), in place, while Pacer runs.

While it runs, 5G-site reports, their dry runs and site releases are refused with 503 and
Retry-After (clients retry with the same report_id, as for any 503); gigabit reports and every
read (progress, alerts, metrics) go on. 5G reports accepted before it started wait in the
reports stream and are applied once it ends. A national store (4,000,100 sites) took 108 s on
the 2-core benchmark machine; Shandong's (~190,000 sites) takes a few seconds.

It is idempotent and resumable: run it again after an interruption and it carries on from the
last batch it finished (its cursor is in Redis); on a store already in v2 it changes nothing.
New Pacer answers 503 to 5G reports on a v1 store until it has run, so run it right after
deploying.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--batch", type=int, default=migration.BATCH, help="sites per batch (default %(default)s)"
    )
    parser.add_argument(
        "--status", action="store_true", help="print the layout and progress, change nothing"
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_run(settings, args))


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    redis = connect(settings.redis_url, timeout_s=max(settings.redis_timeout_s, 30.0))
    try:
        if args.status:
            for field, value in (await migration.status(redis)).items():
                print(f"{field}: {value}")
            return 0
        result = await migration.migrate(
            redis, batch=args.batch, progress=lambda moved: log.debug("%d sites moved", moved)
        )
    finally:
        await redis.aclose()
    if result.outcome == "live":
        print("sites: already in layout v2; nothing to do")
    else:
        print(f"sites: layout v2 live; {result.moved:,} sites moved in {result.seconds:.1f} s")
    return 0
