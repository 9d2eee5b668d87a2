"""The lock files: every package Pacer installs, pinned with its hashes, made from pyproject.toml.

    python tools/dependency_lock.py write   # `make lock`: resolve again (needs the package index)
    python tools/dependency_lock.py check   # `make lint`: the locks still match pyproject.toml

``requirements-dev.lock`` holds the dependencies and the ``dev`` extra (what ``make install`` and
CI install), ``requirements.lock`` the dependencies alone, at the same versions (what the image
installs). Both are plain pip requirement files with hashes, written by ``uv pip compile`` for
every platform of Python 3.11, so pip installs them anywhere with ``--require-hashes``.

Each file starts with a digest of the pyproject.toml lists it was made from. ``check`` works
offline: a lock whose digest differs, or that does not satisfy a pin of pyproject.toml, fails,
naming ``make lock`` as the fix.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYTHON = "3.11"
DIGEST_PREFIX = "# pyproject.toml digest: "
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")


@dataclass(frozen=True)
class Lock:
    path: Path
    extras: tuple[str, ...]

    def requirements(self, project: dict[str, object]) -> list[str]:
        wanted = list(_strings(project.get("dependencies")))
        optional = project.get("optional-dependencies") or {}
        assert isinstance(optional, dict)
        for extra in self.extras:
            wanted += _strings(optional.get(extra))
        return wanted

    def digest(self, project: dict[str, object]) -> str:
        inputs = {
            "requires-python": project.get("requires-python"),
            "requirements": sorted(self.requirements(project)),
        }
        return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


DEV = Lock(ROOT / "requirements-dev.lock", ("dev",))
RUNTIME = Lock(ROOT / "requirements.lock", ())


def _strings(value: object) -> list[str]:
    if value is None:
        return []
    assert isinstance(value, list) and all(isinstance(v, str) for v in value)
    return list(value)


def load_project(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, object]:
    project: dict[str, object] = tomllib.loads(pyproject.read_text())["project"]
    return project


def pins(lock_text: str) -> dict[str, Version]:
    """The locked versions, by canonical package name."""
    found: dict[str, Version] = {}
    for line in lock_text.splitlines():
        match = _PIN.match(line)
        if match:
            found[canonicalize_name(match.group(1))] = Version(match.group(3))
    return found


def problems(lock: Lock, project: dict[str, object]) -> list[str]:
    """Why ``lock`` does not match ``project`` (empty: it does)."""
    name = lock.path.name
    if not lock.path.exists():
        return [f"{name} is missing: run `make lock`"]
    text = lock.path.read_text()
    found: list[str] = []
    marked = [line for line in text.splitlines() if line.startswith(DIGEST_PREFIX)]
    recorded = marked[0].removeprefix(DIGEST_PREFIX) if marked else None
    if recorded != lock.digest(project):
        found.append(
            f"{name} was made from other pyproject.toml dependencies: run `make lock` "
            "and commit both lock files"
        )
    locked = pins(text)
    for spec in lock.requirements(project):
        requirement = Requirement(spec)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        version = locked.get(canonicalize_name(requirement.name))
        if version is None:
            found.append(f"{name} has no {requirement.name} (pyproject.toml: {spec})")
        elif not requirement.specifier.contains(version, prereleases=True):
            found.append(f"{name} pins {requirement.name}=={version}, pyproject.toml wants {spec}")
    return found


def write() -> None:
    """Resolve both locks again (the runtime one constrained to the dev one's versions)."""
    project = load_project()
    for lock, constraint in ((DEV, None), (RUNTIME, DEV.path)):
        command = [
            str(Path(sys.executable).with_name("uv")), "pip", "compile", "pyproject.toml",
            "--quiet", "--generate-hashes", "--universal", f"--python-version={PYTHON}",
            "--custom-compile-command=make lock", f"--output-file={lock.path.name}",
        ]  # fmt: skip
        command += [f"--extra={extra}" for extra in lock.extras]
        if constraint is not None:
            command.append(f"--constraint={constraint.name}")
        lock.path.unlink(missing_ok=True)  # resolve afresh, not from the previous pins
        subprocess.run(command, cwd=ROOT, check=True)
        body = lock.path.read_text()
        lock.path.write_text(f"{DIGEST_PREFIX}{lock.digest(project)}\n{body}")
        print(f"wrote {lock.path.name}: {len(pins(body))} packages")


def check() -> int:
    project = load_project()
    found = [problem for lock in (DEV, RUNTIME) for problem in problems(lock, project)]
    if RUNTIME.path.exists() and DEV.path.exists():
        runtime, dev = pins(RUNTIME.path.read_text()), pins(DEV.path.read_text())
        found += [
            f"requirements.lock pins {name}=={version}, requirements-dev.lock {dev.get(name)}"
            for name, version in runtime.items()
            if dev.get(name) != version
        ]
    for problem in found:
        print(f"lock: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["write"]:
        write()
    elif sys.argv[1:] == ["check"]:
        sys.exit(check())
    else:
        sys.exit(f"usage: {sys.argv[0]} write|check")
