"""Fixtures for the end-to-end tier."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.pacer_up import PacerUp, launch


@pytest.fixture
def start_pacer_up(tmp_path: Path) -> Iterator[Callable[..., PacerUp]]:
    started: list[PacerUp] = []

    def start(**env_overrides: str) -> PacerUp:
        workdir = tmp_path / "cwd"
        workdir.mkdir()
        up = launch(workdir, tmp_path / "pacer-up.log", **env_overrides)
        started.append(up)
        return up

    yield start
    for up in started:
        up.stop()
