"""Fixtures for the end-to-end tier."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.pacer_up import PacerUp
from tests.support.processes import REPO_ROOT, SERVICE_PORT_VARS, free_port


@pytest.fixture
def start_pacer_up(tmp_path: Path) -> Iterator[Callable[..., PacerUp]]:
    started: list[PacerUp] = []

    def start(**env_overrides: str) -> PacerUp:
        workdir = tmp_path / "cwd"
        workdir.mkdir()
        ports = {name: free_port() for name in SERVICE_PORT_VARS}
        env = {k: v for k, v in os.environ.items() if not k.startswith("PACER_")}
        env |= {SERVICE_PORT_VARS[name]: str(port) for name, port in ports.items()}
        env["PYTHONPATH"] = str(REPO_ROOT)  # the children run from workdir, not the repo
        env["PACER_WEBHOOK_ALLOWED_HOSTS"] = "127.0.0.1"  # test receivers are on loopback
        env |= env_overrides
        log_path = tmp_path / "pacer-up.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "up", "--var-dir", "var"],
                cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        up = PacerUp(process, workdir / "var", ports, log_path)
        started.append(up)
        return up

    yield start
    for up in started:
        up.stop()
