"""The lock files match pyproject.toml, and the check notices when they stop matching."""

from __future__ import annotations

import copy
from pathlib import Path

from tools.dependency_lock import DEV, RUNTIME, Lock, load_project, pins, problems


def test_the_committed_locks_match_pyproject_and_each_other() -> None:
    project = load_project()
    assert problems(DEV, project) == []
    assert problems(RUNTIME, project) == []
    dev, runtime = pins(DEV.path.read_text()), pins(RUNTIME.path.read_text())
    assert runtime.items() <= dev.items(), "the image runs the versions that were tested"
    assert "pytest" in dev and "pytest" not in runtime


def test_every_locked_package_has_its_hashes() -> None:
    for lock in (DEV, RUNTIME):
        lines = lock.path.read_text().splitlines()
        pinned = [n for n, line in enumerate(lines) if "==" in line and line[:1].isalnum()]
        assert len(pinned) == len(pins("\n".join(lines)))
        for n in pinned:
            assert lines[n].endswith("\\") and "--hash=sha256:" in lines[n + 1], lines[n]


def test_a_new_dependency_or_another_pin_in_pyproject_is_a_problem() -> None:
    project = load_project()
    added = copy.deepcopy(project)
    added["dependencies"] = [*project["dependencies"], "Markdown==3.8"]  # type: ignore[misc]
    found = problems(RUNTIME, added)
    assert any("made from other pyproject.toml dependencies" in p for p in found)
    assert "requirements.lock has no Markdown (pyproject.toml: Markdown==3.8)" in found

    moved = copy.deepcopy(project)
    moved["dependencies"] = [
        "rich==99.0.0" if d.startswith("rich==") else d
        for d in project["dependencies"]  # type: ignore[attr-defined]
    ]
    assert any(
        p.startswith("requirements.lock pins rich==") and p.endswith("wants rich==99.0.0")
        for p in problems(RUNTIME, moved)
    )


def test_a_missing_lock_is_named_with_the_command_that_writes_it(tmp_path: Path) -> None:
    lock = Lock(tmp_path / "requirements.lock", ())
    assert problems(lock, load_project()) == ["requirements.lock is missing: run `make lock`"]
