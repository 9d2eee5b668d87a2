"""Which Pacer this is: the package version and the source revision it was built from.

Shown by ``pacer --version``, in each service's start line and as ``pacer_build_info`` on every
``/metrics``. The revision comes from ``shared/REVISION``, which the image build writes
(``--build-arg PACER_REVISION=...``); in a git checkout, from git; else ``unknown``.
"""

from __future__ import annotations

import functools
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

PACKAGE = "pacer"
_SHARED = Path(__file__).resolve().parent
REVISION_FILE = _SHARED / "REVISION"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class BuildInfo:
    version: str
    revision: str

    def __str__(self) -> str:
        return f"pacer {self.version} (revision {self.revision})"


@functools.cache
def build_info() -> BuildInfo:
    """This process's build (read once: neither changes while it runs)."""
    return BuildInfo(version=_version(), revision=_revision(REVISION_FILE, _SHARED.parent))


def _version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return UNKNOWN


def _revision(revision_file: Path, checkout: Path) -> str:
    if revision_file.is_file():
        written = revision_file.read_text().strip()
        if written:
            return written
    if not (checkout / ".git").exists():  # a directory, or a file in a git worktree
        return UNKNOWN
    try:
        result = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):  # no git on this machine
        return UNKNOWN
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else UNKNOWN
