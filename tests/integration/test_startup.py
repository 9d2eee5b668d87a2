"""A service refuses to start on bad configuration, with a message that names the problem."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shared.targets import DEFAULT_TARGETS_FILE
from tests.support.processes import REPO_ROOT, free_port


def serve(service: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "serve", service],
        env={**os.environ, "PACER_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0", **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )


def targets_with_laiwu(directory: Path) -> Path:
    doc = yaml.safe_load(DEFAULT_TARGETS_FILE.read_text(encoding="utf-8"))
    doc["cities"].append(
        doc["cities"][0] | {"id": "laiwu", "code": "371200", "name": "莱芜市", "name_en": "Laiwu"}
    )
    path = directory / "targets.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("service", ["ingest", "aggregator", "exporter"])
def test_every_service_refuses_a_targets_file_with_laiwu(service: str, tmp_path: Path) -> None:
    result = serve(service, {"PACER_TARGETS_FILE": str(targets_with_laiwu(tmp_path))})
    assert result.returncode == 2
    assert "laiwu" in result.stderr
    assert "merged into Jinan" in result.stderr


def test_a_missing_targets_file_is_named(tmp_path: Path) -> None:
    result = serve("exporter", {"PACER_TARGETS_FILE": str(tmp_path / "nope.yaml")})
    assert result.returncode == 2
    assert "nope.yaml" in result.stderr


def test_a_bad_clock_is_refused() -> None:
    result = serve("aggregator", {"PACER_CLOCK": "tomorrow"})
    assert result.returncode == 2
    assert "PACER_CLOCK" in result.stderr or "clock" in result.stderr


def test_the_ingest_refuses_to_start_without_a_tokens_file() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PACER_TOKENS_FILE"}
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "serve", "ingest"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "PACER_TOKENS_FILE is not set" in result.stderr
