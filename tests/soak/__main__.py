"""``python -m tests.soak``: one soak run; prints a table, writes it as JSON, exits 1 on failure."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from tests.soak.run import SoakConfig, as_json, run_soak, table

RESULTS_DIR = Path(__file__).resolve().parents[2] / "bench" / "results"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__)
    parser.add_argument("--duration", type=float, default=300, help="seconds of load (default 300)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--seed", type=int, default=0, help="seeds reports and fault times")
    parser.add_argument(
        "--fault-gap", type=float, default=20, help="mean seconds between random faults"
    )
    parser.add_argument(
        "--json", type=Path, default=None, help="default bench/results/soak-<timestamp>.json"
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="keep logs and data here (default: a temp dir)"
    )
    parser.add_argument(
        "--sentinel",
        action="store_true",
        help="Redis with Sentinel (primary, replica, 3 sentinels); the Redis fault is a kill -9 "
        "of the primary",
    )
    parser.add_argument(
        "--min-replicas",
        type=int,
        default=None,
        help="PACER_REDIS_MIN_REPLICAS (default: 1 with --sentinel, else 0)",
    )
    parser.add_argument(
        "--replica-lag-ms",
        type=float,
        default=0,
        help="with --sentinel: the replication stream runs this far behind and a kill of the "
        "primary drops what it had not delivered, as a host failure does (default 0)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    config = SoakConfig(
        duration_s=args.duration,
        clients=args.clients,
        seed=args.seed,
        mean_fault_gap_s=args.fault_gap,
        workdir=args.workdir,
        sentinel=args.sentinel,
        replica_lag_ms=args.replica_lag_ms,
        min_replicas=args.min_replicas if args.min_replicas is not None else int(args.sentinel),
    )
    result = run_soak(config)
    print(table(result))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.json or RESULTS_DIR / f"soak-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(as_json(result), indent=2) + "\n")
    print(f"written to {path}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
