"""Finding and stopping a launched MPI process tree.

MPICH's Hydra puts its proxy and every rank in sessions of their own, so signalling the
mpiexec process group does not reach them; we collect the whole tree from /proc and stop it
ourselves: SIGTERM first so mpiexec cleans up, SIGKILL for anything still there after a grace.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

_PROC = Path("/proc")


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting to be reaped."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`, found by walking parent links in /proc."""
    children: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    frontier = [pid]
    while frontier:
        below = children.get(frontier.pop(), [])
        found.extend(below)
        frontier.extend(below)
    return found


def terminate_tree(pid: int, grace_s: float = 3.0) -> None:
    """Stop `pid` and everything it started: SIGTERM, wait up to `grace_s`, then SIGKILL."""
    tree = [pid, *descendants(pid)]
    _signal_all(tree, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(pid_alive(each) for each in tree):
        time.sleep(0.05)
    _signal_all([*tree, *descendants(pid)], signal.SIGKILL)


def _signal_all(pids: list[int], signum: signal.Signals) -> None:
    for each in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(each, signum)
