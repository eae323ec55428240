"""Starting a registry process beside a broker: the machine's embedded one, or a private one.

The embedded registry pairs with the embedded broker (fixed loopback ports, shared by every
dmcs process of the machine, started by the first that needs it under a file lock); tests,
benchmarks and `dmcs night` start private ones on free ports and stop them when done.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from dmcs.child_process import wait_until_ready
from dmcs.sal.broker import free_port, runtime_dir
from dmcs.settings import settings

_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 5.0


class RegistryStartError(RuntimeError):
    """The registry process did not come up; the text has the end of its log."""


@dataclass(frozen=True)
class RegistryProcess:
    """A running registry: its URL and pid (0 if it was running and its pid is unknown)."""

    url: str
    pid: int
    started: bool = False


def answers(url: str) -> bool:
    """True if a registry answers at `url`."""
    try:
        with urllib.request.urlopen(url + "/subjects", timeout=1.0) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def spawn_registry(bootstrap_servers: str, port: int, log_path: Path,
                   env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start `python -m dmcs.sal.registry` on 127.0.0.1:port, detached from our terminal."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "dmcs.sal.registry", "--broker", bootstrap_servers,
             "--port", str(port)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, env=dict(env) if env is not None else None,
        )


def wait_answering(url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    """Return once the registry answers; RegistryStartError with its log if it died."""
    wait_until_ready(lambda: answers(url), proc, what="schema registry", url=url,
                     log_path=log_path, timeout=_START_TIMEOUT, error=RegistryStartError)


def ensure_embedded_registry(bootstrap_servers: str) -> RegistryProcess:
    """The machine's shared registry (beside the embedded broker), started if not running."""
    port = settings().embedded_registry_port
    url = f"http://127.0.0.1:{port}"
    rdir = runtime_dir()
    pid_path = rdir / "registry.pid"
    with open(rdir / "registry.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if answers(url):
            pid = int(pid_path.read_text()) if pid_path.exists() else 0
            return RegistryProcess(url, pid)
        log_path = rdir / "registry.log"
        proc = spawn_registry(bootstrap_servers, port, log_path)
        wait_answering(url, proc, log_path)
        pid_path.write_text(str(proc.pid))
        return RegistryProcess(url, proc.pid, started=True)


def stop_embedded_registry() -> bool:
    """Stop the shared registry if dmcs started one; True if one was stopped."""
    pid_path = runtime_dir() / "registry.pid"
    if not pid_path.exists():
        return False
    pid = int(pid_path.read_text())
    pid_path.unlink()
    if not _is_registry(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + _STOP_TIMEOUT
    while _is_registry(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _is_registry(pid):
        os.kill(pid, signal.SIGKILL)
    return True


def _is_registry(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"dmcs.sal.registry" in cmdline


@contextlib.contextmanager
def start_private_registry(bootstrap_servers: str, log_dir: Path,
                           env: Mapping[str, str] | None = None) -> Iterator[RegistryProcess]:
    """A registry of our own on a free loopback port, stopped on exit."""
    port = free_port()
    log_path = log_dir / f"registry-{port}.log"
    proc = spawn_registry(bootstrap_servers, port, log_path, env)
    try:
        wait_answering(f"http://127.0.0.1:{port}", proc, log_path)
        yield RegistryProcess(f"http://127.0.0.1:{port}", proc.pid, started=True)
    finally:
        proc.terminate()
        try:
            proc.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
