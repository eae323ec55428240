"""A real InfluxDB for the dashboard tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dmcs.telemetry.influx_server import InfluxServer


@pytest.fixture(scope="session")
def influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    with InfluxServer(tmp_path_factory.mktemp("influx")) as server:
        yield server  # type: ignore[misc]
