"""`python -m bench [NAME ...] [--size tiny|full]`: run the benchmarks, print, write JSON."""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
from pathlib import Path
from typing import Protocol, cast

from bench.harness import Report

# Order matters: ingest measures the capacity that latency's light load is a tenth of.
BENCHMARKS = [
    "ingest",
    "ingest_app",
    "bulk",
    "latency",
    "scale",
    "migrate",
    "pushgateway",
    "portal",
    "replicas",
    "evaluation",
]


class Benchmark(Protocol):
    def run(self, report: Report, workdir: Path) -> None: ...


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"any of {BENCHMARKS} (default: all)"
    )
    parser.add_argument("--size", choices=["tiny", "full"], default="full")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {BENCHMARKS}")
    report = Report(size=args.size)
    for name in args.names or BENCHMARKS:
        module = cast(Benchmark, importlib.import_module(f"bench.{name}"))
        started = time.perf_counter()
        print(f"== {name} ({args.size})", flush=True)
        with tempfile.TemporaryDirectory(prefix=f"pacer-bench-{name}-") as workdir:
            module.run(report, Path(workdir))
        report.timings[name] = round(time.perf_counter() - started, 1)
    print()
    print(report.table())
    print()
    print(report.markdown())
    path = report.write()
    print(f"\nresults: {path}  (wall time per benchmark: {report.timings})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
