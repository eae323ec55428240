"""The DMCS coordinator against real CSCs (Test CSCs standing in for the services): one
enable brings them up in order, standby takes them down, a faulted service is recovered and
reported, and a service that keeps faulting puts the DMCS in FAULT naming it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import yaml

from dmcs.csc.test_csc import TestCsc
from dmcs.sal.ack import AckError
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import DMCS, TEST
from dmcs.sal.remote import Remote
from dmcs.services.dmcs.csc import SERVICE_LOST, DmcsCsc
from dmcs.state_machines.summary_state import State
from dmcs.testing import wait_for_sample


async def _until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


def _config_root(tmp_path: Path, **settings: object) -> Path:
    folder = tmp_path / "config" / "DMCS"
    folder.mkdir(parents=True)
    values = {"services": ["Test:1", "Test:2"], "state_dir": str(tmp_path / "state"),
              "max_recoveries": 1, **settings}
    (folder / "_init.yaml").write_text(yaml.safe_dump(values))
    (folder / "unknown_service.yaml").write_text("services: [Telescope]\n")
    return tmp_path / "config"


@pytest.fixture
async def services(domain: Domain) -> AsyncIterator[list[TestCsc]]:
    cscs = [TestCsc(domain, 1), TestCsc(domain, 2)]
    for csc in cscs:
        await csc.start()
    yield cscs
    for csc in cscs:
        await csc.close()


@pytest.fixture
async def dmcs(domain: Domain, services: list[TestCsc], tmp_path: Path
               ) -> AsyncIterator[DmcsCsc]:
    csc = DmcsCsc(domain, config_root=_config_root(tmp_path))
    await csc.start()
    yield csc
    await csc.close()


@pytest.fixture
async def remote(domain: Domain, dmcs: DmcsCsc) -> AsyncIterator[Remote]:
    async with Remote(domain, DMCS) as rem:
        yield rem


async def test_enable_brings_services_up_and_standby_down(
    dmcs: DmcsCsc, services: list[TestCsc], remote: Remote
) -> None:
    await remote.cmd("start").start()
    await remote.cmd("enable").start(timeout=30)
    assert [s.summary_state for s in services] == [State.ENABLED, State.ENABLED]
    await wait_for_sample(remote.evt("serviceStates"), services="Test:1,Test:2", states="2,2")
    await remote.cmd("disable").start(timeout=30)
    assert [s.summary_state for s in services] == [State.DISABLED, State.DISABLED]
    await remote.cmd("standby").start(timeout=30)
    assert [s.summary_state for s in services] == [State.STANDBY, State.STANDBY]


async def test_faulted_service_is_recovered_then_dmcs_gives_up(
    dmcs: DmcsCsc, services: list[TestCsc], remote: Remote, domain: Domain
) -> None:
    await remote.cmd("start").start()
    await remote.cmd("enable").start(timeout=30)
    async with Remote(domain, TEST, 2) as test2:
        await test2.cmd("fault").start()
        fault = await wait_for_sample(remote.evt("serviceFault"), service="Test:2")
        assert (fault.errorCode, fault.recoveries) == (TestCsc.FAULT_CODE, 1)
        assert "recovery 1/1" in fault.action
        await _until(lambda: services[1].summary_state == State.ENABLED)
        assert dmcs.summary_state == State.ENABLED
        await test2.cmd("fault").start()
        await wait_for_sample(remote.evt("summaryState"), summaryState=int(State.FAULT))
    error = await wait_for_sample(remote.evt("errorCode"), errorCode=SERVICE_LOST)
    assert "Test:2 in FAULT after 1 recoveries" in error.errorReport
    assert services[1].summary_state == State.FAULT
    await remote.cmd("standby").start(timeout=30)
    assert [s.summary_state for s in services] == [State.STANDBY, State.STANDBY]


async def test_enable_fails_naming_a_service_that_cannot_follow(
    dmcs: DmcsCsc, services: list[TestCsc], remote: Remote
) -> None:
    await services[1].close()
    await remote.cmd("start").start()
    with pytest.raises(AckError, match="Test:2 is not running"):
        await remote.cmd("enable").start(timeout=30)
    assert dmcs.summary_state == State.DISABLED
    assert services[0].summary_state == State.ENABLED


async def test_unknown_service_in_configuration_is_refused(
    dmcs: DmcsCsc, remote: Remote
) -> None:
    with pytest.raises(AckError, match="unknown component 'Telescope'"):
        await remote.cmd("start").start(configurationOverride="unknown_service.yaml")
    assert dmcs.summary_state == State.STANDBY
