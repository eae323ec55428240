"""Every ack path a caller can meet, each made to happen for real."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from dmcs.csc.test_csc import TestCsc
from dmcs.sal.ack import AckCode, AckError
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import TEST
from dmcs.sal.remote import Remote
from dmcs.testing import walk_to_enabled


async def test_complete_returns_the_final_ack(remote: Remote) -> None:
    ack = await remote.cmd("start").start()
    assert AckCode(ack.ack) is AckCode.COMPLETE
    assert ack.result == "STANDBY -> DISABLED"


async def test_failed_names_the_state(remote: Remote) -> None:
    with pytest.raises(AckError) as info:
        await remote.cmd("setScalars").start(int0=1)
    assert info.value.code is AckCode.FAILED
    assert "not allowed in state STANDBY" in info.value.ack.result


async def test_inprogress_extends_the_callers_deadline(remote: Remote) -> None:
    await walk_to_enabled(remote)
    acks: list[Any] = []
    t0 = time.monotonic()
    ack = await remote.cmd("wait").start(duration=1.5, timeout=0.5, on_ack=acks.append)
    assert time.monotonic() - t0 >= 1.5
    assert AckCode(ack.ack) is AckCode.COMPLETE
    progress = [a.result for a in acks if a.ack == AckCode.INPROGRESS]
    assert progress[0] == "waiting 1.5 s"
    assert any("%" in text for text in progress[1:])


class StallingCsc(TestCsc):
    """Promises 0.3 s more with INPROGRESS, then takes much longer."""

    async def do_wait(self, data: Any) -> str:
        await self.controller.ack_in_progress(data, 0.3, "promising 0.3 s")
        await asyncio.sleep(data.duration)
        return "late"


async def test_timeout_after_inprogress(domain: Domain) -> None:
    csc = StallingCsc(domain, 2)
    await csc.start()
    try:
        async with Remote(domain, TEST, 2) as remote:
            await walk_to_enabled(remote)
            t0 = time.monotonic()
            with pytest.raises(AckError) as info:
                await remote.cmd("wait").start(duration=5, timeout=0.2)
            assert info.value.code is AckCode.TIMEOUT
            assert time.monotonic() - t0 < 2
    finally:
        await csc.close()


async def test_generic_abort_gives_aborted(remote: Remote, csc: TestCsc) -> None:
    await walk_to_enabled(remote)
    waiting = asyncio.create_task(remote.cmd("wait").start(duration=20))
    await asyncio.sleep(0.5)
    ack = await remote.cmd("abort").start()
    assert ack.result == "aborted 1 command(s)"
    with pytest.raises(AckError) as info:
        await waiting
    assert info.value.code is AckCode.ABORTED
    assert not csc.controller.dispatcher.running


async def test_caller_cancellation_aborts_on_the_csc(remote: Remote, csc: TestCsc) -> None:
    await walk_to_enabled(remote)
    waiting = asyncio.create_task(remote.cmd("wait").start(duration=20))
    await asyncio.sleep(0.5)
    assert csc.controller.dispatcher.running
    waiting.cancel()
    for _ in range(50):
        if not csc.controller.dispatcher.running:
            break
        await asyncio.sleep(0.05)
    assert not csc.controller.dispatcher.running


async def test_noack_when_no_csc_runs(domain: Domain) -> None:
    async with Remote(domain, TEST, 9, liveness_timeout=1.0) as remote:
        t0 = time.monotonic()
        with pytest.raises(AckError) as info:
            await remote.cmd("start").start(timeout=30)
    assert info.value.code is AckCode.NOACK
    assert "Test:9 is not running" in info.value.ack.result
    assert time.monotonic() - t0 < 3


async def test_csc_shutdown_aborts_running_commands(domain: Domain) -> None:
    csc = TestCsc(domain, 3)
    await csc.start()
    async with Remote(domain, TEST, 3) as remote:
        await walk_to_enabled(remote)
        waiting = asyncio.create_task(remote.cmd("wait").start(duration=30, timeout=60))
        await asyncio.sleep(0.5)
        t0 = time.monotonic()
        await csc.close()
        with pytest.raises(AckError) as info:
            await waiting
    assert info.value.code is AckCode.ABORTED
    assert time.monotonic() - t0 < 2


async def test_acks_reach_only_their_sender(sal_config: Any, csc: TestCsc) -> None:
    """Two callers with their own identities, commanding at once, each get their own acks."""
    async with Domain(sal_config, identity="alice@hill") as dom_a, \
            Domain(sal_config, identity="bob@hill") as dom_b:
        csc.auth.update("alice@hill,bob@hill", "")
        async with Remote(dom_a, TEST, 1) as alice, Remote(dom_b, TEST, 1) as bob:
            await walk_to_enabled(alice)
            acks_a: list[Any] = []
            acks_b: list[Any] = []
            await asyncio.gather(
                *(alice.cmd("setScalars").start(int0=i, on_ack=acks_a.append) for i in range(5)),
                *(bob.cmd("setScalars").start(int0=i, on_ack=acks_b.append) for i in range(5)),
            )
    assert len(acks_a) == len(acks_b) == 5
    assert {a.identity for a in acks_a} == {"alice@hill"}
    assert {a.identity for a in acks_b} == {"bob@hill"}
    assert len({a.private_seqNum for a in acks_a + acks_b}) == 10


async def test_bad_field_is_refused_before_sending(remote: Remote, csc: TestCsc) -> None:
    with pytest.raises(ValueError, match="int0"):
        await remote.cmd("setScalars").start(int0="many")
    with pytest.raises(ValueError, match=r"no field.*nonsense"):
        await remote.cmd("setScalars").start(nonsense=1)
    assert csc.controller.dispatcher.commands_received == 0


async def test_command_after_idle_spell_is_still_prompt(remote: Remote) -> None:
    """Readers relax their polling when idle; the next command must not notice much."""
    await walk_to_enabled(remote)
    await asyncio.sleep(1.5)
    t0 = time.monotonic()
    await remote.cmd("setScalars").start(int0=1)
    assert time.monotonic() - t0 < 0.5
