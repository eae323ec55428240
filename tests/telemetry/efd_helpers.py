"""Helpers of the telemetry tests: run an EFD writer, count points in the EFD."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dmcs.sal.config import SalConfig
from dmcs.telemetry.efd_client import EfdClient
from dmcs.telemetry.efd_writer import EfdWriter, EfdWriterSettings
from dmcs.telemetry.influx_http import InfluxHttp

FAST = EfdWriterSettings(flush_interval=0.02, discovery_interval=0.3, registry_retry=0.2)


def database_of(sal_config: SalConfig) -> str:
    """The EFD database of one test. Measurements are named as the site's EFD names them,
    without the topic subname, so tests sharing an InfluxDB keep apart by database."""
    return f"efd_{sal_config.subname}"


@asynccontextmanager
async def running_writer(sal_config: SalConfig, url: str,
                         settings: EfdWriterSettings = FAST) -> AsyncIterator[EfdWriter]:
    """A started writer, stopped and its InfluxDB client closed however the block ends."""
    assert sal_config.bootstrap_servers and sal_config.schema_registry_url
    writer = EfdWriter(sal_config.bootstrap_servers, sal_config.subname,
                       InfluxHttp(url, database_of(sal_config)),
                       sal_config.schema_registry_url, settings)
    await writer.start()
    try:
        yield writer
    finally:
        await writer.stop()
        await writer.influx.close()


async def count_points(client: EfdClient, topic: str) -> int:
    """Points of `topic` in the EFD (0 while the topic does not exist)."""
    results = await client.influx.query(f'SELECT count("private_seqNum") FROM "{topic}"')
    series = results[0].get("series") if results else None
    return int(series[0]["values"][0][1]) if series else 0


async def wait_for_points(client: EfdClient, topic: str, expected: int,
                          timeout: float = 20.0) -> int:
    """Poll until `topic` has `expected` points; return the last count seen."""
    deadline = asyncio.get_running_loop().time() + timeout
    count = await count_points(client, topic)
    while count < expected and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
        count = await count_points(client, topic)
    return count
