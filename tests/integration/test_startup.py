"""A service refuses to start on bad configuration, with a message that names the problem."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shared.build_info import build_info
from shared.targets import DEFAULT_TARGETS_FILE
from tests.support.processes import REPO_ROOT, free_port


def serve(
    service: str, env: dict[str, str], cwd: Path = REPO_ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "serve", service],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("PACER_")},
            "PYTHONPATH": str(REPO_ROOT),
            "PACER_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
            **env,
        },
        cwd=cwd,
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


MISTAKES = [
    # (where the operator wrote it, NAME=value, the one line expected on stderr)
    (
        "environment",
        "PACER_MAX_ATEMPTS=3",
        "pacer serve aggregator: configuration error: PACER_MAX_ATEMPTS is not a Pacer setting; "
        "did you mean PACER_MAX_ATTEMPTS?",
    ),
    (
        "environment",
        "PACER_AGGREGATOR_PORT=abc",
        "pacer serve aggregator: configuration error: PACER_AGGREGATOR_PORT='abc': Input should "
        "be a valid integer, unable to parse string as an integer",
    ),
    (
        "environment",
        "PACER_LOG_LEVEL=loud",
        "pacer serve aggregator: configuration error: PACER_LOG_LEVEL='loud': must be DEBUG, "
        "INFO, WARNING, ERROR or CRITICAL",
    ),
    (
        ".env",
        "PACER_EVAL_INTERVL=5",
        "pacer serve aggregator: configuration error: PACER_EVAL_INTERVL (in .env) is not a Pacer "
        "setting; did you mean PACER_EVAL_INTERVAL?",
    ),
    (
        ".env",
        "PACER_LOG_FORMAT=xml",
        "pacer serve aggregator: configuration error: PACER_LOG_FORMAT='xml' (in .env): Input "
        "should be 'text' or 'json'",
    ),
]


@pytest.mark.parametrize(("where", "setting", "line"), MISTAKES, ids=[m[1] for m in MISTAKES])
def test_each_configuration_mistake_is_one_line_naming_the_variable(
    where: str, setting: str, line: str, tmp_path: Path
) -> None:
    name, _, typed = setting.partition("=")
    if where == ".env":
        (tmp_path / ".env").write_text(f"# local settings\n{setting}\n")
    result = serve("aggregator", {name: typed} if where == "environment" else {}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [line]


def test_settings_in_dot_env_are_used_and_the_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PACER_EXPORTER_PORT=abc\nPACER_AGGREGATOR_PORT=xyz\n")
    result = serve("aggregator", {"PACER_EXPORTER_PORT": "9999"}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "pacer serve aggregator: configuration error: PACER_AGGREGATOR_PORT='xyz' (in .env): "
        "Input should be a valid integer, unable to parse string as an integer"
    ]


def test_pacer_version_names_the_version_and_revision() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "--version"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(build_info())
    assert re.fullmatch(r"pacer \S+ \(revision [0-9a-f]{12}\)", result.stdout.strip())
