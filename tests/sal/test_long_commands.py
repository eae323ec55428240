"""A command under way for minutes (an OCPS job waiting for its prerequisites) costs its
caller little: on Tansu, whose fetches never return early, reads poll fast only while an ack
is likely soon, then relax to the idle wait until the final ack comes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from dmcs.csc.test_csc import TestCsc
from dmcs.sal.ack import AckCode
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import TEST
from dmcs.sal.remote import Remote
from dmcs.sal.topics.remote_command import EXPECT_ACKS_S

DURATION_S = 10.0
#: By then the waits have relaxed: the short ones end EXPECT_ACKS_S after the INPROGRESS ack,
#: and each fetch doubles the wait up to the idle one (~2 s on a loaded machine).
RELAXED_AFTER_S = EXPECT_ACKS_S + 4.0


async def test_a_long_command_lets_its_callers_reads_relax(domain: Domain, tmp_path: Path
                                                           ) -> None:
    profile = domain.profile
    if not profile.adaptive_waits:
        pytest.skip("Kafka answers a waiting fetch as data arrives: reads never poll fast")
    (tmp_path / "Test").mkdir()
    (tmp_path / "Test" / "quiet.yaml").write_text("wait_progress_interval: 60\n")
    csc = TestCsc(domain, 1, config_root=tmp_path)
    await csc.start()
    try:
        async with Remote(domain, TEST, 1) as remote:
            await remote.cmd("start").start(configurationOverride="quiet.yaml")
            await remote.cmd("enable").start()
            sent = time.monotonic()
            command = asyncio.create_task(remote.cmd("wait").start(duration=DURATION_S))
            await asyncio.sleep(RELAXED_AFTER_S)
            waits = []
            while time.monotonic() - sent < DURATION_S - 1.0:
                waits.append(domain.hub.wait_ms)
                await asyncio.sleep(0.1)
            ack = await command
            took = time.monotonic() - sent
    finally:
        await csc.close()
    assert set(waits) == {profile.idle_wait_ms}, f"fetch waits (ms) while the command ran: {waits}"
    assert AckCode(ack.ack) is AckCode.COMPLETE
    assert took < DURATION_S + profile.idle_wait_ms / 1000 + 1.0, f"final ack after {took:.1f} s"
