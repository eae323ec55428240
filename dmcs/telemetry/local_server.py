"""A local server process (InfluxDB, Prometheus) on a free loopback port, started and stopped.

Tests, benchmarks and `dmcs night` share this: start the Debian binary with a temp data dir,
wait until its readiness URL answers, stop it cleanly (SIGTERM, then SIGKILL), restart it on
the same port and data (to test outages).
"""

from __future__ import annotations

import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Self

from dmcs.child_process import wait_until_ready

_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 10.0


class ServerError(RuntimeError):
    """A local server could not be started; the text says why and where its log is."""


def find_binary(name: str) -> str:
    """The absolute path of `name` on PATH, or ServerError saying how to install it."""
    path = shutil.which(name)
    if path is None:
        raise ServerError(f"{name} is not installed (Debian: apt-get install {name.rstrip('d')})")
    return path


class LocalServer:
    """One child process, its log file, and the URL that says it is ready.

    Subclasses give `command()` (the argv) and `ready_path`; the port and data dir stay the
    same across `stop()` / `start()`, so a restarted server has its old data.
    """

    name = "server"
    ready_path = "/"

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.log_path = data_dir / f"{self.name}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        """Start the process and wait until it answers on its readiness URL."""
        if self._proc is not None and self._proc.poll() is None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until_ready(self.is_ready, self._proc, what=self.name, url=self.url,
                         log_path=self.log_path, timeout=_START_TIMEOUT, error=ServerError)

    def is_ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + self.ready_path, timeout=1) as response:
                return 200 <= int(response.status) < 300
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a grace period; idempotent."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
