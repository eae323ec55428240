"""BaseScript through its Script interface, as an operator drives it: configure, run, pause,
resume, stop, checkpoint patterns, bad configuration, and `dmcs script run`."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dmcs.sal.ack import AckError
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import SCRIPT
from dmcs.sal.remote import Remote
from dmcs.scripts.sleep import SleepScript
from dmcs.state_machines.script_state import ScriptState
from dmcs.testing import wait_for_sample

INDEX = 100001
DMCS = str(Path(sys.executable).parent / "dmcs")


@pytest.fixture
async def script(domain: Domain) -> AsyncIterator[SleepScript]:
    sleeper = SleepScript(domain, INDEX)
    await sleeper.start()
    yield sleeper
    await sleeper.close()


@pytest.fixture
async def remote(domain: Domain, script: SleepScript) -> AsyncIterator[Remote]:
    async with Remote(domain, SCRIPT, INDEX) as rem:
        yield rem


async def _state(remote: Remote, state: ScriptState) -> None:
    await wait_for_sample(remote.evt("state"), state=int(state))


async def test_configure_run_to_done_with_progress(script: SleepScript, remote: Remote) -> None:
    await _state(remote, ScriptState.UNCONFIGURED)
    await remote.cmd("configure").start(config="duration: 0.3\nsteps: 3")
    metadata = await remote.evt("metadata").aget(timeout=10)
    assert metadata.totalCheckpoints == 3
    await remote.cmd("run").start()
    await _state(remote, ScriptState.DONE)
    assert await script.finished == ScriptState.DONE
    progress = remote.evt("progress").get()
    assert (progress.fraction, progress.message) == (1.0, "slept 3/3")
    assert remote.evt("state").get().numCheckpoints == 3


async def test_group_id_is_set_when_configured_and_shown_in_state(
    script: SleepScript, remote: Remote
) -> None:
    description = await remote.evt("description").aget(timeout=10)
    assert (description.classname, description.help) == ("SleepScript", SleepScript.__doc__)
    with pytest.raises(AckError, match="setGroupId not allowed in script state UNCONFIGURED"):
        await remote.cmd("setGroupId").start(groupId="g1")
    await remote.cmd("configure").start(config="duration: 0.2\nsteps: 2", blockId="BL1")
    await remote.cmd("setGroupId").start(groupId="20261130_science_0001")
    grouped = await wait_for_sample(remote.evt("state"), groupId="20261130_science_0001")
    assert grouped.state == ScriptState.CONFIGURED
    await remote.cmd("run").start()
    done = await wait_for_sample(remote.evt("state"), state=int(ScriptState.DONE))
    assert done.groupId == "20261130_science_0001"


async def test_operator_pauses_and_resumes(script: SleepScript, remote: Remote) -> None:
    await remote.cmd("configure").start(config="duration: 2\nsteps: 20")
    await remote.cmd("run").start()
    await remote.cmd("pause").start()
    paused = await wait_for_sample(remote.evt("state"), state=int(ScriptState.PAUSED))
    await asyncio.sleep(0.5)
    assert script.state == ScriptState.PAUSED
    assert script.checkpoints_passed == paused.numCheckpoints < 20
    await remote.cmd("resume").start()
    await _state(remote, ScriptState.DONE)
    assert script.checkpoints_passed == 20


async def test_stop_while_paused_and_pause_pattern(script: SleepScript, remote: Remote) -> None:
    await remote.cmd("configure").start(config="duration: 1\nsteps: 10",
                                        pauseCheckpoint="step [5]")
    await remote.cmd("run").start()
    paused = await wait_for_sample(remote.evt("state"), state=int(ScriptState.PAUSED))
    assert paused.lastCheckpoint == "step 5"
    await remote.cmd("stop").start()
    stopped = await wait_for_sample(remote.evt("state"), state=int(ScriptState.STOPPED))
    assert stopped.reason == "stop commanded"
    with pytest.raises(AckError, match="not allowed in script state STOPPED"):
        await remote.cmd("resume").start()


async def test_stop_checkpoint_pattern(script: SleepScript, remote: Remote) -> None:
    await remote.cmd("configure").start(config="duration: 0.2\nsteps: 4", stopCheckpoint="step 2")
    await remote.cmd("run").start()
    stopped = await wait_for_sample(remote.evt("state"), state=int(ScriptState.STOPPED))
    assert "step 2" in stopped.reason
    assert script.checkpoints_passed == 2


@pytest.mark.parametrize(("config", "pause", "error"), [
    ("duration: -1", "", "duration"),
    ("steps: [1", "", "not valid YAML"),
    ("speed: 3", "", "speed"),
    ("- 1", "", "mapping"),
    ("", "step (", "not a regular expression"),
])
async def test_bad_configuration_is_refused_and_script_stays_usable(
    script: SleepScript, remote: Remote, config: str, pause: str, error: str
) -> None:
    with pytest.raises(AckError, match="CMD_FAILED") as failed:
        await remote.cmd("configure").start(config=config, pauseCheckpoint=pause)
    assert error in failed.value.ack.result
    assert script.state == ScriptState.UNCONFIGURED
    with pytest.raises(AckError, match="not allowed in script state UNCONFIGURED"):
        await remote.cmd("run").start()
    await remote.cmd("configure").start(config="duration: 0")
    await remote.cmd("run").start()
    await _state(remote, ScriptState.DONE)


def test_dmcs_script_run_cli(sal_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "sleep.yaml"
    config.write_text("duration: 0.2\nsteps: 2\n")
    done = subprocess.run([DMCS, "script", "run", "sleep", "--config", str(config),
                           "--index", "7"], env=sal_env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "checkpoint step 2 (2/2)" in done.stdout
    assert "Script:7 ended DONE" in done.stdout
    config.write_text("steps: 0\n")
    bad = subprocess.run([DMCS, "script", "run", "sleep", "--config", str(config)],
                         env=sal_env, capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode != 0
    assert "steps" in bad.stderr
    unknown = subprocess.run([DMCS, "script", "run", "nap"], env=sal_env,
                             capture_output=True, text=True, timeout=60, check=False)
    assert "unknown script 'nap'" in unknown.stderr


def test_sigint_stops_a_running_script(sal_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "sleep.yaml"
    config.write_text("duration: 60\nsteps: 60\n")
    proc = subprocess.Popen([DMCS, "script", "run", "sleep", "--config", str(config)],
                            env=sal_env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "checkpoint step 1" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "ended STOPPED: interrupted" in out
