"""DiskMonitor: the kit's standard checks, its telemetry, its warning, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmcs.sal.ack import AckError
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import DISK_MONITOR
from dmcs.sal.remote import Remote
from dmcs.services.disk_monitor.csc import DiskMonitorCsc
from dmcs.testing import wait_for_sample
from dmcs.testing.csc_checks import check_standard_behaviour


async def test_standard_behaviour(domain: Domain, tmp_path: Path) -> None:
    await check_standard_behaviour(domain, DiskMonitorCsc, tmp_path)


async def test_reports_space_and_warns_when_low(domain: Domain, tmp_path: Path) -> None:
    csc = DiskMonitorCsc(domain)
    await csc.start(claim_seconds=0.2)
    try:
        async with Remote(domain, DISK_MONITOR) as remote:
            await remote.cmd("start").start()
            await remote.cmd("enable").start()
            space = await remote.tel("diskSpace").next(flush=False, timeout=10)
            assert 0 < space.freeGB <= space.totalGB
            await wait_for_sample(remote.evt("lowSpace"), low=False)
            await remote.cmd("setThreshold").start(thresholdGB=space.totalGB + 1)
            warning = await wait_for_sample(remote.evt("lowSpace"), low=True)
            assert warning.thresholdGB == space.totalGB + 1
            with pytest.raises(AckError, match="thresholdGB must be >= 0, got -1"):
                await remote.cmd("setThreshold").start(thresholdGB=-1)
    finally:
        await csc.close()
