"""`dmcs state` and `dmcs command` against a CSC running as its own process."""

from __future__ import annotations

import signal
import subprocess
import time

from dmcs.cli.errors import ExitCode
from dmcs.sal.config import SalConfig
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import TEST
from dmcs.sal.remote import Remote
from dmcs.state_machines.summary_state import State
from dmcs.testing.processes import Cli, CscProcesses, read_line


async def remote_state(sal_config: SalConfig, index: int) -> int:
    """The summaryState the CSC last published, seen by an independent Remote."""
    async with Domain(sal_config) as domain, Remote(
        domain, TEST, index, include=["summaryState"]
    ) as remote:
        sample = await remote.evt("summaryState").aget(timeout=5)
        return int(sample.summaryState)


async def test_state_walk_prints_steps_and_reaches_each_state(
    cli: Cli, cscs: CscProcesses, sal_config: SalConfig
) -> None:
    csc = await cscs.astart(1)

    up = await cli.arun("state", "Test:1", "enabled")
    assert up.returncode == 0, up.stderr
    assert "STANDBY -> DISABLED  start" in up.stdout
    assert "DISABLED -> ENABLED   enable" in up.stdout
    assert " ms" in up.stdout.splitlines()[-1]
    assert await remote_state(sal_config, 1) == State.ENABLED

    again = await cli.arun("state", "Test:1", "ENABLED")
    assert again.returncode == 0
    assert "already ENABLED" in again.stdout

    down = await cli.arun("state", "Test:1", "offline")
    assert down.returncode == 0, down.stderr
    assert [line.split()[3] for line in down.stdout.splitlines()[1:]] == [
        "disable", "standby", "exitControl"]
    assert csc.wait(10) == 0
    assert csc.stdout is not None and "went OFFLINE" in csc.stdout.read()


async def test_failed_start_exits_with_the_csc_reason(
    cli: Cli, cscs: CscProcesses, sal_config: SalConfig
) -> None:
    await cscs.astart(2)
    result = await cli.arun("state", "Test:2", "disabled", "--override", "nosuch.yaml")
    assert result.returncode == ExitCode.FAILED
    assert "CMD_FAILED: unknown configuration 'nosuch.yaml'" in result.stderr
    assert "fast_progress.yaml" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert await remote_state(sal_config, 2) == State.STANDBY


async def test_command_fields_arrive_typed_in_the_csc_events(
    cli: Cli, cscs: CscProcesses, sal_config: SalConfig
) -> None:
    await cscs.astart(3, "--state", "enabled")
    scalars = await cli.arun("command", "Test:3", "setScalars", "int0=-7", "double0=2.5",
                             "boolean0=true", "string0=a, b")
    assert scalars.returncode == 0, scalars.stderr
    assert "COMPLETE" in scalars.stdout
    arrays = await cli.arun("command", "Test:3", "setArrays", "int0=1,2,3,4,5",
                            "boolean0=1,0,1,0,1")
    assert arrays.returncode == 0, arrays.stderr

    async with Domain(sal_config) as domain, Remote(
        domain, TEST, 3, include=["scalars", "arrays"]
    ) as remote:
        got = await remote.evt("scalars").aget(timeout=5)
        assert (got.int0, got.double0, got.boolean0, got.string0) == (-7, 2.5, True, "a, b")
        got_arrays = await remote.evt("arrays").aget(timeout=5)
        assert got_arrays.int0 == [1, 2, 3, 4, 5]
        assert got_arrays.boolean0 == [True, False, True, False, True]


async def test_command_progress_and_failure_exit_codes(cli: Cli, cscs: CscProcesses) -> None:
    await cscs.astart(4)
    refused = await cli.arun("command", "Test:4", "wait", "duration=0.2")
    assert refused.returncode == ExitCode.FAILED
    assert "FAILED" in refused.stdout
    assert "CMD_FAILED: wait not allowed in state STANDBY" in refused.stderr

    assert (await cli.arun("state", "Test:4", "enabled")).returncode == 0
    waited = await cli.arun("command", "Test:4", "wait", "duration=1.2")
    assert waited.returncode == 0, waited.stderr
    codes = [line.split()[2] for line in waited.stdout.splitlines()]
    assert codes[0] == "INPROGRESS" and codes[-1] == "COMPLETE"
    assert "waited 1.2 s" in waited.stdout

    timed_out = await cli.arun("command", "Test:4", "wait", "duration=-1")
    assert timed_out.returncode == ExitCode.FAILED
    assert "duration must be >= 0" in timed_out.stderr


def test_killing_the_csc_mid_command_gives_a_prompt_noack(
    cli: Cli, cscs: CscProcesses
) -> None:
    csc = cscs.start(5, "--state", "enabled")
    caller = cli.popen("command", "Test:5", "wait", "duration=30",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert "INPROGRESS" in read_line(caller.stdout, 15)
        csc.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        caller.wait(15)
        waited = time.monotonic() - killed_at
        stderr = caller.stderr.read() if caller.stderr else ""
    finally:
        caller.kill()
        caller.communicate()
    assert caller.returncode == ExitCode.NOACK
    assert "CMD_NOACK" in stderr and "stopped sending heartbeats" in stderr
    assert waited < 5.5
