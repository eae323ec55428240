"""Fixtures of the telemetry tests: a real InfluxDB, and an EFD writer on the test's topics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from efd_helpers import database_of, running_writer

from dmcs.sal.config import SalConfig
from dmcs.telemetry.efd_client import EfdClient
from dmcs.telemetry.efd_writer import EfdWriter
from dmcs.telemetry.influx_server import InfluxServer


@pytest.fixture(scope="session")
def influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    """One InfluxDB for the session; each test has a database of its own."""
    with InfluxServer(tmp_path_factory.mktemp("influx")) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
async def efd(influx: InfluxServer, sal_config: SalConfig) -> AsyncIterator[EfdClient]:
    async with EfdClient(influx.url, database_of(sal_config)) as client:
        yield client


@pytest.fixture
async def efd_writer(sal_config: SalConfig, influx: InfluxServer) -> AsyncIterator[EfdWriter]:
    """An EFD writer reading this test's subname, started before any CSC of the test."""
    async with running_writer(sal_config, influx.url) as writer:
        yield writer
