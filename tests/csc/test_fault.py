"""fault() from anywhere reaches FAULT with its errorCode and never leaves a command unanswered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from dmcs.csc.test_csc import TestCsc
from dmcs.sal.ack import AckCode, AckError
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import TEST
from dmcs.sal.remote import Remote
from dmcs.state_machines.summary_state import State
from dmcs.testing import wait_for_sample

HOOKS = ("begin_start", "end_start", "begin_enable", "end_enable", "handle_summary_state")


class FaultingCsc(TestCsc):
    """Calls fault() from the hook named in `fault_in` (as a service whose work fails to start)."""

    fault_in = ""

    async def _maybe_fault(self, hook: str) -> None:
        if hook == self.fault_in:
            await self.fault(42, f"work failed to start in {hook}")

    async def begin_start(self, data: Any) -> None:
        await super().begin_start(data)
        await self._maybe_fault("begin_start")

    async def end_start(self, data: Any) -> None:
        await self._maybe_fault("end_start")

    async def begin_enable(self, data: Any) -> None:
        await self._maybe_fault("begin_enable")

    async def end_enable(self, data: Any) -> None:
        await self._maybe_fault("end_enable")

    async def handle_summary_state(self) -> None:
        await super().handle_summary_state()
        if self.summary_state == State.ENABLED:
            await self._maybe_fault("handle_summary_state")


@pytest.fixture
async def faulting(domain: Domain) -> AsyncIterator[tuple[FaultingCsc, Remote]]:
    csc = FaultingCsc(domain, 1)
    await csc.start(claim_seconds=0.2)
    async with Remote(domain, TEST, 1) as remote:
        yield csc, remote
    await csc.close()


@pytest.mark.parametrize("hook", HOOKS)
async def test_fault_in_a_state_hook_fails_the_command_and_reaches_fault(
    faulting: tuple[FaultingCsc, Remote], hook: str
) -> None:
    csc, remote = faulting
    csc.fault_in = hook
    with pytest.raises(AckError) as info:
        await remote.cmd("start").start(timeout=5)
        await remote.cmd("enable").start(timeout=5)
    assert info.value.code is AckCode.FAILED
    assert f"went to FAULT (42: work failed to start in {hook})" in info.value.ack.result
    await wait_for_sample(remote.evt("summaryState"), summaryState=State.FAULT)
    error = await wait_for_sample(remote.evt("errorCode"), errorCode=42)
    assert hook in error.errorReport
    csc.fault_in = ""
    await remote.cmd("standby").start(timeout=5)
    await remote.cmd("start").start(timeout=5)
    assert csc.summary_state == State.DISABLED


async def test_fault_from_a_command_handler_completes_it(
    faulting: tuple[FaultingCsc, Remote],
) -> None:
    csc, remote = faulting
    await remote.cmd("start").start(timeout=5)
    await remote.cmd("enable").start(timeout=5)
    ack = await remote.cmd("fault").start(timeout=5)
    assert ack.result == "FAULT"
    assert csc.summary_state == State.FAULT
    await wait_for_sample(remote.evt("errorCode"), errorCode=TestCsc.FAULT_CODE)


async def test_fault_from_a_background_task(faulting: tuple[FaultingCsc, Remote]) -> None:
    csc, remote = faulting
    await remote.cmd("start").start(timeout=5)

    async def failing_work() -> None:
        try:
            raise RuntimeError("detector link lost")
        except RuntimeError as err:
            await csc.fault(5, str(err))

    await asyncio.wait_for(asyncio.create_task(failing_work()), 5)
    assert csc.summary_state == State.FAULT
    error = await wait_for_sample(remote.evt("errorCode"), errorCode=5)
    assert "RuntimeError: detector link lost" in error.traceback
    with pytest.raises(AckError, match="enable not allowed in state FAULT"):
        await remote.cmd("enable").start(timeout=5)
