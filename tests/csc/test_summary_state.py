"""Every state × state command: allowed ones move and publish, others fail naming the state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dmcs.csc.test_csc import TestCsc
from dmcs.sal.ack import AckCode, AckError
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import TEST
from dmcs.sal.remote import Remote
from dmcs.state_machines.diagrams import state_machines_page
from dmcs.state_machines.summary_state import (
    STATE_COMMANDS,
    TRANSITIONS,
    State,
    SummaryStateMachine,
    TransitionNotAllowed,
)
from dmcs.testing import assert_next_summary_state, walk_to_enabled

LIVE_STATES = (State.STANDBY, State.DISABLED, State.ENABLED, State.FAULT)
TABLE = {(trigger, src): dst for trigger, src, dst in TRANSITIONS}


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("trigger", [*STATE_COMMANDS, "fault"])
def test_machine_table(state: State, trigger: str) -> None:
    machine = SummaryStateMachine(state)
    expected = TABLE.get((trigger, state))
    if expected is None:
        with pytest.raises(TransitionNotAllowed, match=f"not allowed in state {state.name}"):
            machine.fire(trigger)
        assert machine.state == state
    else:
        assert machine.fire(trigger) == expected


async def _put_in(remote: Remote, state: State) -> None:
    if state == State.STANDBY:
        return
    await remote.cmd("start").start()
    if state == State.DISABLED:
        return
    await remote.cmd("enable").start()
    if state == State.FAULT:
        await remote.cmd("fault").start()


async def _until_reported(remote: Remote, state: State) -> None:
    """Wait until the remote has seen `state`, then drop the queued history of getting there."""
    reader = remote.evt("summaryState")
    while reader.get() is None or reader.get().summaryState != state:
        await reader.next(flush=False, timeout=5)
    reader.flush()


@pytest.mark.parametrize("state", LIVE_STATES)
@pytest.mark.parametrize("command", STATE_COMMANDS)
async def test_csc_state_command(domain: Domain, state: State, command: str) -> None:
    csc = TestCsc(domain, 1)
    await csc.start()
    try:
        async with Remote(domain, TEST, 1, include=["summaryState"]) as remote:
            await _put_in(remote, state)
            await _until_reported(remote, state)
            expected = TABLE.get((command, state))
            if expected is None:
                with pytest.raises(AckError) as info:
                    await remote.cmd(command).start()
                assert info.value.code is AckCode.FAILED
                assert f"not allowed in state {state.name}" in info.value.ack.result
                assert csc.summary_state == state
            else:
                await remote.cmd(command).start()
                await assert_next_summary_state(remote, expected)
                assert csc.summary_state == expected
    finally:
        await csc.close()


async def test_exit_control_ends_the_csc(domain: Domain) -> None:
    csc = TestCsc(domain, 1)
    await csc.start()
    async with Remote(domain, TEST, 1) as remote:
        await remote.cmd("exitControl").start()
        await _until_reported(remote, State.OFFLINE)
    await csc.done


class HookFailureCsc(TestCsc):
    """Its begin_enable or end_disable fails on demand."""

    fail: str = ""

    async def begin_enable(self, data: Any) -> None:
        if self.fail == "begin_enable":
            raise RuntimeError("detector electronics not ready")

    async def end_disable(self, data: Any) -> None:
        if self.fail == "end_disable":
            raise RuntimeError("could not park")


@pytest.mark.parametrize(
    ("hook", "command", "stays"),
    [("begin_enable", "enable", State.DISABLED), ("end_disable", "disable", State.ENABLED)],
)
async def test_failing_hook_fails_command_and_keeps_state(
    domain: Domain, hook: str, command: str, stays: State
) -> None:
    csc = HookFailureCsc(domain, 1)
    await csc.start()
    try:
        async with Remote(domain, TEST, 1) as remote:
            await _put_in(remote, stays)
            csc.fail = hook
            with pytest.raises(AckError) as info:
                await remote.cmd(command).start()
            assert info.value.code is AckCode.FAILED
            assert "RuntimeError" in info.value.ack.result
            assert csc.summary_state == stays
    finally:
        await csc.close()


async def test_fault_publishes_error_code(remote: Remote, csc: TestCsc) -> None:
    await walk_to_enabled(remote)
    await remote.cmd("fault").start()
    error = await remote.evt("errorCode").next(flush=False, timeout=5)
    assert error.errorCode == TestCsc.FAULT_CODE
    assert error.errorReport == "fault commanded"
    assert csc.summary_state == State.FAULT
    await remote.cmd("standby").start()
    assert csc.summary_state == State.STANDBY


def test_state_diagram_doc_matches_the_code() -> None:
    page = Path(__file__).parents[2] / "docs" / "state_machines.md"
    assert page.read_text() == state_machines_page(), (
        "docs/state_machines.md is stale: run python -m dmcs.state_machines.diagrams"
    )
