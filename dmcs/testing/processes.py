"""The `dmcs` command and CSCs as real subprocesses, as a user or a deployment runs them.

Tests that kill a CSC, restart it or race two of them need it in its own process: these run
`dmcs run NAME` with the test's broker and subname, wait for its banner, keep its log in a
file the test can read, and stop whatever is still running at the end.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

DMCS = str(Path(sys.executable).parent / "dmcs")
STARTUP_TIMEOUT = 30.0


class Cli:
    """Runs `dmcs ...` in a subprocess with the given environment (broker, subname)."""

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


class CscProcess:
    """One `dmcs run` child: its process, its name and its captured log."""

    def __init__(self, proc: subprocess.Popen[str], name: str, log_path: Path) -> None:
        self.proc = proc
        self.name = name
        self.log_path = log_path

    @property
    def log(self) -> str:
        """Everything the CSC logged so far (stderr)."""
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        self.proc.kill()
        self.proc.wait()


class CscProcesses:
    """`dmcs run NAME ...` processes, stopped (SIGTERM, then SIGKILL) at the end of the test."""

    def __init__(self, cli: Cli, log_dir: Path) -> None:
        self.cli = cli
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen[str]] = []

    def spawn(self, component: str, *args: str) -> CscProcess:
        """Start `dmcs run component args` without waiting for it."""
        log_path = self.log_dir / f"{component.replace(':', '-')}-{len(self.procs)}.log"
        with open(log_path, "w") as log:
            proc = self.cli.popen("run", component, *args, stdout=subprocess.PIPE, stderr=log)
        self.procs.append(proc)
        return CscProcess(proc, component, log_path)

    def run(self, component: str, *args: str) -> CscProcess:
        """Start a CSC and return once it announced itself (its banner line)."""
        child = self.spawn(component, *args)
        banner = read_line(child.proc.stdout, STARTUP_TIMEOUT)
        assert " running in " in banner, f"{banner!r}; log:\n{child.log}"
        return child

    async def arun(self, component: str, *args: str) -> CscProcess:
        return await asyncio.to_thread(self.run, component, *args)

    def start(self, index: int, *args: str) -> subprocess.Popen[str]:
        """A Test CSC of this index (the common case in the CLI's tests)."""
        return self.run("Test", "--index", str(index), *args).proc

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
