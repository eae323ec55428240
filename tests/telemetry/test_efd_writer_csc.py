"""`EFDWriter` as a CSC: ENABLED writes the subname's topics and its own health to the EFD."""

from __future__ import annotations

import asyncio
from pathlib import Path

from efd_helpers import count_points, wait_for_points
from traffic import Traffic

from dmcs.csc.registry import csc_class
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import EFD_WRITER
from dmcs.sal.remote import Remote
from dmcs.telemetry.efd_client import EfdClient
from dmcs.telemetry.influx_server import InfluxServer
from dmcs.testing import wait_for_sample, walk_to_enabled


async def test_enabled_efd_writer_csc_writes_topics_and_its_health(
    domain: Domain, influx: InfluxServer, efd: EfdClient, tmp_path: Path,
) -> None:
    (tmp_path / "EFDWriter").mkdir()
    (tmp_path / "EFDWriter" / "_init.yaml").write_text(
        f"influx_url: {influx.url}\ndatabase: {efd.influx.database}\n"
        "health_interval: 0.2\nflush_interval: 0.02\n")
    csc = csc_class("EFDWriter")(domain, 0, config_root=tmp_path)  # type: ignore[call-arg]
    await csc.start()
    try:
        async with Remote(domain, EFD_WRITER, 0, include=["summaryState", "health"]) as remote:
            await walk_to_enabled(remote)
            traffic = await Traffic(domain).start()
            for i in range(20):
                await traffic.send(int0=i)
            assert await wait_for_points(efd, traffic.measurement, 20) == 20
            health = await wait_for_sample(remote.tel("health"), paused=False)
            assert health.topics > 0
            own = "lsst.sal.EFDWriter.health"
            assert await wait_for_points(efd, own, 1) >= 1
            frame = await efd.select_top_n(own, ["pointsWritten", "lagTotal"], 1)
            assert frame["pointsWritten"].iloc[-1] > 0

            await remote.cmd("disable").start()
            await traffic.send(int0=99)
            await asyncio.sleep(0.5)
            assert await count_points(efd, traffic.measurement) == 20  # not writing while DISABLED
            await remote.cmd("enable").start()
            assert await wait_for_points(efd, traffic.measurement, 21) == 21
    finally:
        await csc.close()
