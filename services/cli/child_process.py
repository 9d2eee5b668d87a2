"""Child processes of ``pacer up``: started apart from the terminal, never outliving their parent.

Each child gets its own process group, so a Ctrl-C in the terminal reaches ``pacer up`` alone and
the shutdown keeps its order (services first, Redis last). On Linux a child also asks the kernel
for SIGTERM when its parent dies, so even a ``kill -9`` of ``pacer up`` leaves no orphan behind.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import IO

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> Callable[[], None] | None:
    if sys.platform != "linux":
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before the fork, not in the child
    parent = os.getpid()

    def in_child() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return in_child


def spawn(
    argv: Sequence[str], env: Mapping[str, str], output: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``argv``; its output goes to ``output`` if given, else where ``pacer up``'s goes."""
    return subprocess.Popen(
        list(argv),
        env=dict(env),
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
        process_group=0,
        preexec_fn=_die_with_parent(),
    )


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


def stop_all(
    processes: Sequence[subprocess.Popen[bytes]],
    timeout_s: float,
    hurry: Callable[[], bool] = lambda: False,
) -> None:
    """SIGTERM every process, wait up to ``timeout_s`` (less once ``hurry()``), then SIGKILL."""
    running = [p for p in processes if p.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while running and time.monotonic() < deadline and not hurry():
        time.sleep(0.05)
        running = [p for p in running if p.poll() is None]
    for process in running:
        process.kill()
    for process in processes:
        process.wait()
