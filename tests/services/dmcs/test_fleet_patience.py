"""The DMCS walks a service that was briefly frozen: a loaded host can hold a process for a
few seconds (every process of a 4k night on Tansu stalled 3.3 s at once), long enough for
the DMCS to show it absent, but not long enough to refuse to command it."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import DMCS, TEST
from dmcs.sal.remote import Remote
from dmcs.services.dmcs.csc import DmcsCsc
from dmcs.services.dmcs.fleet import ABSENT
from dmcs.state_machines.summary_state import State
from dmcs.testing import wait_for_sample
from dmcs.testing.processes import CscProcesses


@pytest.fixture
async def dmcs(domain: Domain, tmp_path: Path) -> AsyncIterator[DmcsCsc]:
    folder = tmp_path / "config" / "DMCS"
    folder.mkdir(parents=True)
    (folder / "_init.yaml").write_text(yaml.safe_dump(
        {"services": ["Test:1"], "state_dir": str(tmp_path / "state")}))
    csc = DmcsCsc(domain, config_root=tmp_path / "config")
    await csc.start()
    yield csc
    await csc.close()


async def test_a_service_frozen_for_seconds_is_still_walked(
    domain: Domain, dmcs: DmcsCsc, csc_processes: CscProcesses
) -> None:
    service = await csc_processes.astart(1)
    async with Remote(domain, DMCS) as remote, Remote(domain, TEST, 1) as test1:
        await remote.cmd("start").start()
        await remote.cmd("enable").start(timeout=60)
        await wait_for_sample(test1.evt("summaryState"), summaryState=int(State.ENABLED))
        os.kill(service.pid, signal.SIGSTOP)
        try:
            await wait_for_sample(remote.evt("serviceStates"), timeout=20,
                                  services="Test:1", states=str(ABSENT))
            disable = asyncio.create_task(remote.cmd("disable").start(timeout=60))
            await asyncio.sleep(1.0)
            assert not disable.done(), "the DMCS gave up on a service silent for seconds"
        finally:
            os.kill(service.pid, signal.SIGCONT)
        await disable
        await wait_for_sample(test1.evt("summaryState"), summaryState=int(State.DISABLED))
        assert dmcs.summary_state == State.DISABLED
