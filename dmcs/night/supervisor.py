"""Every CSC of the night as its own `dmcs run` process, restarted if it dies.

This is what a deployment's process manager does (systemd, Kubernetes): a CSC that exits
while it should be running is started again, and the restarts are counted. A process that
keeps dying is given up on after ``max_restarts`` so a broken service cannot spin forever.
`stop_all` ends the processes it started (SIGTERM, then SIGKILL) and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

DMCS_EXECUTABLE = str(Path(sys.executable).parent / "dmcs")
STOP_GRACE_S = 10.0
RESTART_DELAY_S = 0.5


@dataclass
class Managed:
    """One supervised CSC process."""

    component: str
    index: int = 0
    extra_args: tuple[str, ...] = ()
    #: Its own environment (e.g. its Kafka user), else the supervisor's.
    env: dict[str, str] | None = None
    #: Its CPU priority (``nice``; 0 is the default, higher yields to the others).
    niceness: int = 0
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0
    exits: list[int] = field(default_factory=list)
    given_up: bool = False

    @property
    def label(self) -> str:
        return f"{self.component}:{self.index}" if self.index else self.component

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None


class Supervisor:
    """Starts, watches and restarts `dmcs run` processes; logs go to `log_dir`."""

    def __init__(self, env: dict[str, str], log_dir: Path, *, max_restarts: int = 5) -> None:
        self.env = env
        self.log_dir = log_dir
        self.max_restarts = max_restarts
        self.managed: dict[str, Managed] = {}
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._stopping = False
        log_dir.mkdir(parents=True, exist_ok=True)

    async def add(self, component: str, index: int = 0, *extra_args: str,
                  env: dict[str, str] | None = None, niceness: int = 0) -> Managed:
        managed = Managed(component, index, tuple(extra_args), env, niceness=niceness)
        self.managed[managed.label] = managed
        await self._spawn(managed)
        self._watchers[managed.label] = asyncio.create_task(self._watch(managed))
        return managed

    def restarts(self) -> dict[str, int]:
        return {label: m.restarts for label, m in self.managed.items()}

    def kill(self, label: str, sig: signal.Signals = signal.SIGKILL) -> int:
        """Send `sig` to a supervised process (failure drills); return its pid."""
        managed = self.managed[label]
        if managed.process is None or managed.process.returncode is not None:
            raise RuntimeError(f"{label} is not running")
        managed.process.send_signal(sig)
        return managed.process.pid

    async def release(self, label: str) -> None:
        """Stop restarting `label` (it is about to be told to exit)."""
        watcher = self._watchers.pop(label, None)
        if watcher is not None:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)

    async def wait_exited(self, label: str, timeout: float) -> bool:
        """Wait for a released process to exit on its own; True if it did."""
        process = self.managed[label].process
        if process is None:
            return True
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def stop_all(self) -> None:
        """SIGTERM every process we started, SIGKILL those still there after a grace period."""
        self._stopping = True
        for watcher in self._watchers.values():
            watcher.cancel()
        await asyncio.gather(*self._watchers.values(), return_exceptions=True)
        self._watchers.clear()
        await asyncio.gather(*(_terminate(m) for m in self.managed.values()))

    async def _spawn(self, managed: Managed) -> None:
        args = [DMCS_EXECUTABLE, "run", managed.component]
        if managed.index:
            args += ["--index", str(managed.index)]
        args += list(managed.extra_args)
        log_path = self.log_dir / f"{managed.label.replace(':', '-')}.log"
        with open(log_path, "ab") as log_file:
            managed.process = await asyncio.create_subprocess_exec(
                *_niced(args, managed.niceness), env=managed.env or self.env,
                stdin=asyncio.subprocess.DEVNULL, stdout=log_file,
                stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        log.info("started %s (pid %d, nice %d)", managed.label, managed.process.pid,
                 managed.niceness)

    async def _watch(self, managed: Managed) -> None:
        while True:
            assert managed.process is not None
            code = await managed.process.wait()
            managed.exits.append(code)
            if self._stopping:
                return
            if managed.restarts >= self.max_restarts:
                managed.given_up = True
                log.error("%s exited (%d) %d times; not restarting it again", managed.label,
                          code, managed.restarts + 1)
                return
            managed.restarts += 1
            log.warning("%s exited with %d; restarting it (restart %d)", managed.label, code,
                        managed.restarts)
            await asyncio.sleep(RESTART_DELAY_S)
            await self._spawn(managed)


def _niced(args: list[str], niceness: int) -> list[str]:
    """The command under ``nice`` when it yields (``nice`` execs it: the pid is the CSC's)."""
    return ["nice", "-n", str(niceness), *args] if niceness else args


async def _terminate(managed: Managed) -> None:
    process = managed.process
    if process is None or process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), STOP_GRACE_S)
    except TimeoutError:
        log.warning("%s ignored SIGTERM for %.0f s; killing it", managed.label, STOP_GRACE_S)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
