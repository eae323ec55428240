"""Shared fixtures: a real Kafka-protocol broker (Tansu) on a free loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from dmcs.csc.test_csc import TestCsc
from dmcs.sal.broker import BrokerProcess, start_private_broker
from dmcs.sal.config import SalConfig
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces.test import TEST
from dmcs.sal.remote import Remote
from dmcs.testing import unique_subname


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    with start_private_broker(tmp_path_factory.mktemp("broker")) as proc:
        yield proc


@pytest.fixture
def sal_config(broker: BrokerProcess) -> SalConfig:
    """Connection settings for one test: the session broker, a subname of its own."""
    return SalConfig(bootstrap_servers=broker.bootstrap_servers, subname=unique_subname())


@pytest.fixture
def sal_env(
    sal_config: SalConfig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, str]:
    """Environment for subprocesses (CSCs, the CLI) that must join this test's topics."""
    env = {
        "LSST_KAFKA_BROKER_ADDR": sal_config.bootstrap_servers or "",
        "LSST_TOPIC_SUBNAME": sal_config.subname,
        "DMCS_HOME": str(tmp_path / "dmcs_home"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
async def domain(sal_config: SalConfig) -> AsyncIterator[Domain]:
    async with Domain(sal_config) as dom:
        yield dom


@pytest.fixture
async def csc(domain: Domain) -> AsyncIterator[TestCsc]:
    """A Test CSC, index 1, in STANDBY."""
    test_csc = TestCsc(domain, 1)
    await test_csc.start()
    yield test_csc
    await test_csc.close()


@pytest.fixture
async def remote(domain: Domain, csc: TestCsc) -> AsyncIterator[Remote]:
    """A Remote of that CSC reading everything."""
    async with Remote(domain, TEST, 1) as rem:
        yield rem
