"""A CSC process survives its broker restarting empty, and twins started at once leave one."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmcs.cli.errors import ExitCode
from dmcs.sal.ack import AckCode, AckError
from dmcs.sal.broker import free_port
from dmcs.sal.config import SalConfig
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import TEST
from dmcs.sal.registry.process import start_private_registry
from dmcs.sal.remote import Remote
from dmcs.sal.tansu import spawn_tansu, wait_listening
from dmcs.state_machines.summary_state import State
from dmcs.testing import unique_subname
from dmcs.testing.processes import Cli, CscProcesses, read_line

BROKER_DOWN_SECONDS = 5.0
RECOVERY_SECONDS = 20.0
STARTUP_SECONDS = 60.0


class RestartableBroker:
    """A Tansu of this test's own that can be killed and started again on the same port
    (memory only: it restarts empty, the case dmcs must rebuild from)."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.log_path = log_dir / "restartable-broker.log"
        self.proc = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        proc = spawn_tansu(self.port, self.log_path)
        wait_listening(self.port, proc, self.log_path)
        return proc

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def restart(self) -> None:
        self.proc = self._start()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[RestartableBroker]:
    broker = RestartableBroker(tmp_path)
    yield broker
    broker.kill()


async def _command_until_answered(config: SalConfig, deadline: float) -> float:
    """Send `start` with fresh connections until it completes; return the seconds it took."""
    began = time.monotonic()
    while True:
        try:
            async with Domain(config) as domain, Remote(
                domain, TEST, 1, include=["summaryState"]
            ) as remote:
                await remote.cmd("start").start(timeout=3)
                return time.monotonic() - began
        except (AckError, OSError, Exception) as err:  # broker still settling: try again
            if time.monotonic() > deadline:
                raise AssertionError(f"no command answered after the restart: {err}") from err
            await asyncio.sleep(0.5)


async def test_commands_answered_and_events_republished_after_broker_restart(
    own_broker: RestartableBroker, tmp_path: Path
) -> None:
    """The registry rides it out too: it writes its schemas into the new, empty log, and
    every schema keeps its id (a CSC's cached ids stay right)."""
    servers = f"127.0.0.1:{own_broker.port}"
    with start_private_registry(servers, tmp_path) as registry:
        config = SalConfig(bootstrap_servers=servers, subname=unique_subname(),
                           schema_registry_url=registry.url, broker_kind="tansu")
        await _survive_restart(own_broker, config, tmp_path)


async def _survive_restart(own_broker: RestartableBroker, config: SalConfig,
                           tmp_path: Path) -> None:
    env = {**os.environ, "LSST_KAFKA_BROKER_ADDR": config.bootstrap_servers or "",
           "LSST_TOPIC_SUBNAME": config.subname, "DMCS_HOME": str(tmp_path / "home"),
           "LSST_SCHEMA_REGISTRY_URL": config.schema_registry_url or "",
           "DMCS_BROKER_KIND": "tansu"}
    procs = CscProcesses(Cli(env), tmp_path)
    try:
        csc = await procs.arun("Test", "--index", "1")
        own_broker.kill()
        await asyncio.sleep(BROKER_DOWN_SECONDS)
        own_broker.restart()

        took = await _command_until_answered(config, time.monotonic() + RECOVERY_SECONDS)
        assert took < RECOVERY_SECONDS
        async with Domain(config) as domain, Remote(
            domain, TEST, 1, include=["summaryState", "softwareVersions"]
        ) as late:
            state = await late.evt("summaryState").aget(timeout=5)
            assert state.summaryState == State.DISABLED
            versions = await late.evt("softwareVersions").aget(timeout=5)
            assert versions.cscVersion, versions
        assert csc.proc.poll() is None
    finally:
        procs.stop_all()


async def test_twins_started_at_once_leave_exactly_one(
    cli: Cli, csc_processes: CscProcesses, sal_config: SalConfig
) -> None:
    twins = [csc_processes.spawn("Test", "--index", "4") for _ in range(2)]
    first_lines = await asyncio.gather(
        *(asyncio.to_thread(read_line, t.proc.stdout, STARTUP_SECONDS) for t in twins)
    )
    running = [t for t, line in zip(twins, first_lines, strict=True) if " running in " in line]
    assert len(running) == 1, (first_lines, [t.log for t in twins])
    loser = next(t for t in twins if t is not running[0])
    assert loser.proc.wait(10) == ExitCode.DUPLICATE
    assert "was started twice at once" in loser.log or "already running" in loser.log

    result = await cli.arun("command", "Test:4", "setLogLevel", "level=20")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("COMPLETE") == 1, result.stdout
    assert running[0].proc.poll() is None


async def test_command_to_a_restarted_csc_ends_noack_naming_the_restart(
    csc_processes: CscProcesses, domain: Domain
) -> None:
    first = await csc_processes.arun("Test", "--index", "6", "--state", "enabled")
    async with Remote(domain, TEST, 6, include=(), liveness_timeout=60) as remote:
        await remote.evt("heartbeat").aget(timeout=10)
        waiting = asyncio.create_task(remote.cmd("wait").start(duration=60, timeout=120))
        await asyncio.sleep(1)
        first.kill()
        # Restarted at once, as a supervisor would: it waits out the dead one's heartbeat.
        second = await csc_processes.arun("Test", "--index", "6", "--state", "enabled")
        assert second.proc.poll() is None
        with pytest.raises(AckError) as info:
            await asyncio.wait_for(waiting, 30)
    assert info.value.code is AckCode.NOACK
    assert f"was restarted (pid {first.proc.pid} -> " in info.value.ack.result


async def test_restart_right_after_a_clean_exit_is_accepted(
    csc_processes: CscProcesses,
) -> None:
    first = await csc_processes.arun("Test", "--index", "7")
    first.proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(first.proc.wait, 20) == 0
    second = await csc_processes.arun("Test", "--index", "7")
    assert second.proc.poll() is None
