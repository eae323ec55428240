"""A service's background work (ListenAndReport): it reports at its interval, and stopping
it never hangs, even when the work ignores being cancelled."""

from __future__ import annotations

import asyncio
import logging

import pytest

from dmcs.csc.listen_and_report import ListenAndReport

log = logging.getLogger("test.listen_and_report")


async def test_reports_every_interval_until_stopped() -> None:
    reports: list[float] = []

    async def report() -> None:
        reports.append(asyncio.get_running_loop().time())

    work = ListenAndReport(log, [], report, interval_s=0.05)
    await asyncio.sleep(0.5)
    await work.stop()
    count = len(reports)
    await asyncio.sleep(0.2)
    assert count >= 3 and len(reports) == count


async def test_stop_returns_when_the_work_ignores_cancellation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    started = asyncio.Event()
    release = asyncio.Event()

    async def stubborn() -> None:
        started.set()
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue

    work = ListenAndReport(log, [], stubborn, interval_s=1.0, stop_timeout_s=0.3)
    await started.wait()
    with caplog.at_level(logging.WARNING, logger=log.name):
        await asyncio.wait_for(work.stop(), 5)
    assert "background task still running 0.3 s after cancel" in caplog.text
    release.set()


async def test_a_failing_report_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def broken() -> None:
        raise OSError("disk gone")

    with caplog.at_level(logging.ERROR, logger=log.name):
        work = ListenAndReport(log, [], broken, interval_s=0.05)
        await asyncio.sleep(0.1)
        await work.stop()
    assert "background listening stopped: OSError('disk gone')" in caplog.text
