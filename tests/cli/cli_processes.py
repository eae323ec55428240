"""The `dmcs` console script run as a user runs it, CSCs as processes, and an independent view."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from dmcs.sal.config import SalConfig
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces.test import TEST
from dmcs.sal.remote import Remote

DMCS = str(Path(sys.executable).parent / "dmcs")
STARTUP_TIMEOUT = 20.0


class Cli:
    """Runs `dmcs ...` in a subprocess with the test's broker and subname."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run([DMCS, *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)

    async def arun(self, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """The same, without blocking the test's event loop."""
        return await asyncio.to_thread(self, *args, timeout=timeout)

    def popen(self, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
        return subprocess.Popen([DMCS, *args], env=self.env, text=True, **kwargs)


def read_line(stream: Any, timeout: float) -> str:
    """The next line of a child's stdout, or AssertionError after `timeout` seconds."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert lines, f"no output line within {timeout} s"
    return lines[0]


class CscProcesses:
    """`dmcs run Test --index N` processes, stopped at the end of the test."""

    def __init__(self, cli: Cli, log_dir: Path) -> None:
        self.cli = cli
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, index: int, *args: str) -> subprocess.Popen[str]:
        """Start a Test CSC and return once it announced itself (its banner line)."""
        log = open(self.log_dir / f"csc-{index}-{len(self.procs)}.log", "w")  # noqa: SIM115
        proc = self.cli.popen("run", "Test", "--index", str(index), *args,
                              stdout=subprocess.PIPE, stderr=log)
        log.close()
        self.procs.append(proc)
        banner = read_line(proc.stdout, STARTUP_TIMEOUT)
        assert f"Test:{index} running" in banner, banner
        return proc

    async def astart(self, index: int, *args: str) -> subprocess.Popen[str]:
        return await asyncio.to_thread(self.start, index, *args)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


async def remote_state(sal_config: SalConfig, index: int) -> int:
    """The summaryState the CSC last published, seen by an independent Remote."""
    async with Domain(sal_config) as domain, Remote(
        domain, TEST, index, include=["summaryState"]
    ) as remote:
        sample = await remote.evt("summaryState").aget(timeout=5)
        return int(sample.summaryState)
