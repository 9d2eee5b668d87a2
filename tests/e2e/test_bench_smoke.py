"""Every benchmark of `make bench` still runs: each at its tiny size, as `python -m bench NAME`.

Not a measurement (the figures of a tiny run on a busy machine mean nothing); it proves that each
benchmark starts what it needs, drives it, prints its figures and writes them with a baseline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS
from tests.support.processes import REPO_ROOT, require_binary

pytestmark = pytest.mark.slow

BINARIES = {
    "ingest": ["redis-server", "wrk"],
    "pushgateway": ["redis-server", "wrk", "prometheus-pushgateway"],
    "replicas": ["redis-server", "wrk"],
}
"""What each benchmark runs besides Python (redis-server for the rest)."""


@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_runs_at_tiny_size_and_reports_positive_figures_against_a_baseline(
    name: str, tmp_path: Path
) -> None:
    for binary in BINARIES.get(name, ["redis-server"]):
        require_binary(binary)
    run = subprocess.run(
        [sys.executable, "-m", "bench", name, "--size", "tiny"],
        cwd=REPO_ROOT,
        env={**os.environ, "PACER_BENCH_RESULTS_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (written,) = tmp_path.glob("bench-tiny-*.json")
    document = json.loads(written.read_text())
    figures = document["figures"]
    assert figures, f"{name} reported no figure"
    for figure in figures:
        assert figure["benchmark"] == name
        assert figure["name"] in run.stdout, f"{figure['name']} was not printed"
        assert figure["value"] > 0, figure
        assert figure["baseline"] is not None and figure["baseline"] > 0, figure
        assert figure["ratio"] is not None and figure["ratio"] > 0, figure
    assert name in document["timings_s"]
