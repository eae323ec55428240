"""The EFD writer's hard paths, made to happen: collisions, malformed messages, InfluxDB down,
a writer restart, a topic that appears late."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from efd_helpers import FAST, count_points, database_of, running_writer, wait_for_points
from prometheus_client import REGISTRY
from traffic import Traffic

from dmcs.sal.aiokafka_internals import fetch_max_wait
from dmcs.sal.config import SalConfig
from dmcs.sal.domain import Domain
from dmcs.sal.tai import current_tai
from dmcs.telemetry.efd_client import EfdClient
from dmcs.telemetry.efd_writer import EfdWriter
from dmcs.telemetry.influx_server import InfluxServer

OUTAGE_SECONDS = 20.0


async def test_same_microsecond_from_two_indices_keeps_both_points(
    efd_writer: EfdWriter, domain: Domain, efd: EfdClient,
) -> None:
    traffic = await Traffic(domain).start()
    stamp = current_tai()
    await traffic.send(index=1, snd_stamp=stamp, int0=1)
    await traffic.send(index=2, snd_stamp=stamp, int0=2)
    assert await wait_for_points(efd, traffic.measurement, 2) == 2
    frame = await efd.select_top_n(traffic.measurement,
                                   ["salIndex", "int0", "private_efdStamp"], 5)
    assert list(frame["int0"]) == [2, 1]  # newest first
    assert (frame.index[0] - frame.index[1]).value == 1000  # moved 1 µs on, in ns
    assert frame["private_efdStamp"].iloc[0] > frame["private_efdStamp"].iloc[1]


async def test_malformed_messages_are_skipped_counted_and_logged_once(
    sal_config: SalConfig, influx: InfluxServer, domain: Domain, efd: EfdClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    traffic = await Traffic(domain).start()
    good = traffic.encoded(int0=7)
    unknown_schema = b"\x00\x00\x00\x00\x09" + good[5:]
    for payload in (b"not avro at all", good[:-3], good + b"\x00", unknown_schema):
        await traffic.send_raw(payload)
    await traffic.send(int0=8)
    async with running_writer(sal_config, influx.url) as writer:
        with caplog.at_level(logging.WARNING, "dmcs.telemetry.efd_writer"):
            assert await wait_for_points(efd, traffic.measurement, 1) == 1
        frame = await efd.select_top_n(traffic.measurement, ["int0"], 5)
        assert list(frame["int0"]) == [8]
        assert writer.health.decode_errors == 4
        assert REGISTRY.get_sample_value("dmcs_efd_decode_errors_total",
                                         {"topic": traffic.topic}) == 4
        logged = [r for r in caplog.records if traffic.topic in r.getMessage()]
        assert len(logged) == 1, [r.getMessage() for r in logged]


async def test_influxdb_down_for_20_s_loses_nothing(
    sal_config: SalConfig, domain: Domain, tmp_path: Path,
) -> None:
    """Reading pauses when the buffer is full, resumes by itself; every message lands once."""
    with InfluxServer(tmp_path / "influx") as server:
        settings = replace(FAST, max_buffer=200, retry_max=1.0)  # fills even on a slow machine
        async with running_writer(sal_config, server.url, settings) as writer:
            traffic = await Traffic(domain).start()
            stop = asyncio.Event()
            sender = asyncio.create_task(traffic.run(200, stop))
            try:
                await asyncio.sleep(1.0)
                await asyncio.to_thread(server.stop)
                await asyncio.sleep(OUTAGE_SECONDS)
                assert writer.health.paused, "reading did not pause with a full buffer"
                assert writer.health.write_errors > 0
                await asyncio.to_thread(server.start)
                await asyncio.sleep(1.0)
                stop.set()
                await sender
                async with EfdClient(server.url, database_of(sal_config)) as efd:
                    count = await wait_for_points(efd, traffic.measurement, traffic.sent,
                                                  timeout=30)
                    await asyncio.sleep(0.5)
                    count = await count_points(efd, traffic.measurement)
                assert traffic.sent > settings.max_buffer  # more than the buffer holds
                assert count == traffic.sent
                assert not writer.health.paused
            finally:
                stop.set()
                await asyncio.gather(sender, return_exceptions=True)


async def test_restarted_writer_resumes_from_committed_offsets(
    sal_config: SalConfig, influx: InfluxServer, domain: Domain, efd: EfdClient,
) -> None:
    traffic = await Traffic(domain).start()
    async with running_writer(sal_config, influx.url):
        for i in range(150):
            await traffic.send(int0=i)
        assert await wait_for_points(efd, traffic.measurement, 150) == 150
    for i in range(150, 300):
        await traffic.send(int0=i)
    async with running_writer(sal_config, influx.url) as writer:
        assert await wait_for_points(efd, traffic.measurement, 300) == 300
        await asyncio.sleep(0.3)
        assert await count_points(efd, traffic.measurement) == 300  # re-written points, not doubled
        assert writer.health.messages <= 150 + 100  # resumed near the commit, not from 0


async def test_a_topic_created_later_is_read_within_seconds(
    efd_writer: EfdWriter, domain: Domain, efd: EfdClient,
) -> None:
    await asyncio.sleep(0.5)
    traffic = await Traffic(domain).start()
    await traffic.send(int0=5)
    assert await wait_for_points(efd, traffic.measurement, 1, timeout=5) == 1


async def test_an_idle_writer_fetches_less_and_still_reads(
    sal_config: SalConfig, influx: InfluxServer, domain: Domain, efd: EfdClient,
) -> None:
    """As on a broker that never answers a fetch early: while nothing comes the wait grows
    to the idle one; what then comes is still read."""
    traffic = await Traffic(domain).start()
    await traffic.send(int0=1)
    settings = replace(FAST, fetch_max_wait_ms=10, fetch_idle_wait_ms=160)
    async with running_writer(sal_config, influx.url, settings) as writer:
        assert await wait_for_points(efd, traffic.measurement, 1) == 1

        async def relaxed() -> None:
            while fetch_max_wait(writer.consumer) != 160:
                await asyncio.sleep(0.05)

        await asyncio.wait_for(relaxed(), 10)
        await traffic.send(int0=2)
        assert await wait_for_points(efd, traffic.measurement, 2) == 2


def test_the_writer_imports_no_interface_model() -> None:
    """Decoding uses the schema registry only, so any producer's topics land."""
    code = ("import sys, dmcs.telemetry.efd_writer; "
            "print([m for m in sys.modules if m.startswith('dmcs.sal.interface')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
