"""A node's JVM as an operating-system process: started, signalled, stopped by pid, measured.

Pids get reused, so nothing is signalled unless its command line is still the node's (it
names the node's own `server.properties`). A node started by another process (the machine's
shared node) is stopped by pid alone; one started here is also reaped, leaving no zombie.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_POLL_S = 0.05
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def spawn(command: Sequence[str], output: Path, *, die_with_parent: bool
          ) -> subprocess.Popen[bytes]:
    """Start `command` in a session of its own, stdout and stderr appended to `output`.

    With `die_with_parent` the kernel sends it SIGTERM when the thread that started it ends
    (a crashed test run leaves no JVM behind); start it from a thread that lives as long.
    util-linux's `setpriv` sets that up before it execs the command (a `preexec_fn` could
    deadlock a process that has threads).
    """
    if die_with_parent:
        command = ["setpriv", "--pdeathsig", "TERM", *command]
    with open(output, "ab") as out:
        return subprocess.Popen(list(command), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def command_line(pid: int) -> list[str]:
    """The arguments of a live process; [] if there is none (or only a zombie)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_node_process(pid: int, properties: Path) -> bool:
    """True if `pid` is alive and is the Kafka node that runs from `properties`."""
    args = command_line(pid)
    return "kafka.Kafka" in args and str(properties) in args


def stop_pid(pid: int, properties: Path, timeout: float,
             child: subprocess.Popen[bytes] | None = None) -> bool:
    """SIGTERM the node `pid`, SIGKILL it after `timeout` s; True if it was running.

    A stopped (SIGSTOP) node is continued first, or it could not act on the SIGTERM.
    """
    if not _alive(pid, properties, child):
        _reap(child)
        return False
    for sig in (signal.SIGCONT, signal.SIGTERM):
        _signal(pid, sig)
    if not _wait_gone(pid, properties, timeout, child):
        _signal(pid, signal.SIGKILL)
        _wait_gone(pid, properties, timeout, child)
    _reap(child)
    return True


def _wait_gone(pid: int, properties: Path, timeout: float,
               child: subprocess.Popen[bytes] | None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid, properties, child):
            return True
        time.sleep(_POLL_S)
    return False


def _alive(pid: int, properties: Path, child: subprocess.Popen[bytes] | None) -> bool:
    """Our child by its handle (right after the fork its cmdline is briefly empty), any other
    process by its command line."""
    if child is not None:
        return child.poll() is None
    return is_node_process(pid, properties)


def _reap(child: subprocess.Popen[bytes] | None) -> None:
    if child is not None:
        child.wait()


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def state(pid: int) -> str:
    """The kernel's one-letter state of `pid` (R, S, T for stopped, Z...); "" if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def wait_state(pid: int, stopped: bool, timeout: float = 5.0) -> None:
    """Return once `pid` is stopped (or no longer stopped): a signal takes effect a moment late."""
    deadline = time.monotonic() + timeout
    while (state(pid) == "T") != stopped and time.monotonic() < deadline:
        time.sleep(0.01)


@dataclass(frozen=True)
class ProcessUsage:
    """What a process costs now: resident memory and CPU time so far."""

    rss_bytes: int
    cpu_seconds: float


def usage(pid: int) -> ProcessUsage:
    """RSS and user+system CPU time of `pid`, from /proc (pidstat is not installed here)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: fields[11] utime, fields[12] stime, both in clock ticks.
    cpu = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    rss_kb = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text()
                  .splitlines() if line.startswith("VmRSS:"))
    return ProcessUsage(rss_kb * 1024, cpu)
