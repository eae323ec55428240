"""pytest fixtures for testing CSCs against real parts.

Use them with `pytest_plugins = ["dmcs.testing.fixtures"]`.

`broker` is a real broker on free loopback ports for the run: Apache Kafka 4 where Java and
the jars of `make kafka-dist` are here, else Tansu (`DMCS_BROKER_KIND=tansu|kafka` chooses),
with `registry` (`dmcs registry`) beside it. One of each serves the whole run: the pytest
process starts them before any xdist worker (a JVM per worker would cost each worker a start
and the machine its memory) and stops them at the end; each test gets its own topic subname,
so tests never see each other's messages. `cli` runs
the `dmcs` command and `csc_processes` runs CSCs as `dmcs run` subprocesses, both joined to
the test's broker and subname. `postgres_url` is a new database on a real PostgreSQL server
(Debian's binaries, one server for the session); tests that use it are skipped, saying why,
where the binaries are not installed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from dmcs.sal.broker import BrokerProcess, start_private_broker
from dmcs.sal.config import BROKER_KIND_ENV, REGISTRY_ENV, SalConfig
from dmcs.sal.domain import Domain
from dmcs.sal.registry.process import RegistryProcess, start_private_registry
from dmcs.testing import unique_subname
from dmcs.testing.postgres import BIN_GLOB, PostgresServer, find_bin_dir, running_postgres
from dmcs.testing.processes import Cli, CscProcesses

#: Where the run's broker and registry are, for the xdist workers (set by the pytest process).
RUN_BROKER_ENV = "DMCS_TEST_RUN_BROKER"
RUN_REGISTRY_ENV = "DMCS_TEST_RUN_REGISTRY"
_STACK = "dmcs_run_stack"


def pytest_configure(config: pytest.Config) -> None:
    """In the pytest process (not in an xdist worker): start the run's broker and registry."""
    if hasattr(config, "workerinput") or os.environ.get(RUN_BROKER_ENV):
        return
    if config.getoption("collectonly", default=False):
        return
    stack = contextlib.ExitStack()
    logs = Path(tempfile.mkdtemp(prefix="dmcs-test-broker-"))
    broker = stack.enter_context(start_private_broker(logs))
    registry = stack.enter_context(start_private_registry(broker.bootstrap_servers, logs))
    setattr(config, _STACK, stack)
    os.environ[RUN_BROKER_ENV] = f"{broker.kind} {broker.pid} {broker.bootstrap_servers}"
    os.environ[RUN_REGISTRY_ENV] = f"{registry.pid} {registry.url}"


def pytest_unconfigure(config: pytest.Config) -> None:
    stack = getattr(config, _STACK, None)
    if stack is not None:
        stack.close()
        os.environ.pop(RUN_BROKER_ENV, None)
        os.environ.pop(RUN_REGISTRY_ENV, None)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    """The run's broker (or, with no run broker announced, one of this session's own)."""
    announced = os.environ.get(RUN_BROKER_ENV)
    if announced:
        kind, pid, servers = announced.split(" ", 2)
        host, port = servers.split(",")[0].rsplit(":", 1)
        yield BrokerProcess(host, int(port), int(pid), kind=kind,  # type: ignore[arg-type]
                            servers=servers)
        return
    with start_private_broker(tmp_path_factory.mktemp("broker")) as proc:
        yield proc


@pytest.fixture(scope="session")
def registry(broker: BrokerProcess,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """`dmcs registry` on the run's broker."""
    announced = os.environ.get(RUN_REGISTRY_ENV)
    if announced:
        pid, url = announced.split(" ", 1)
        yield RegistryProcess(url, int(pid))
        return
    with start_private_registry(broker.bootstrap_servers,
                                tmp_path_factory.mktemp("registry")) as proc:
        yield proc


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip(f"no PostgreSQL server binaries in {BIN_GLOB} "
                    "(Debian: apt-get install postgresql)")
    with running_postgres(bin_dir) as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A database of the test's own on the session's server, empty."""
    return postgres_server.create_database(unique_subname())


@pytest.fixture
def sal_config(broker: BrokerProcess, registry: RegistryProcess) -> SalConfig:
    """Connection settings for one test: the session broker and registry, a subname of its
    own."""
    return SalConfig(bootstrap_servers=broker.bootstrap_servers, subname=unique_subname(),
                     schema_registry_url=registry.url, broker_kind=broker.kind)


@pytest.fixture
def sal_env(
    sal_config: SalConfig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, str]:
    """Environment for subprocesses (CSCs, the CLI) that must join this test's topics."""
    env = {
        "LSST_KAFKA_BROKER_ADDR": sal_config.bootstrap_servers or "",
        "LSST_TOPIC_SUBNAME": sal_config.subname,
        REGISTRY_ENV: sal_config.schema_registry_url or "",
        BROKER_KIND_ENV: sal_config.broker_kind,
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
def cli(sal_env: dict[str, str]) -> Cli:
    """The `dmcs` command on the test's broker and subname (wide terminal for tables)."""
    return Cli({**os.environ, **sal_env, "COLUMNS": "200"})


@pytest.fixture
def csc_processes(cli: Cli, tmp_path: Path) -> Iterator[CscProcesses]:
    """CSCs as `dmcs run` subprocesses, logs under tmp_path, all stopped after the test."""
    procs = CscProcesses(cli, tmp_path)
    yield procs
    procs.stop_all()
