"""`dmcs broker --broker-kind kafka|tansu`: start, status and stop of the machine's broker."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from dmcs.cli.errors import ExitCode
from dmcs.kafka import KafkaDistribution
from dmcs.kafka.process import command_line
from dmcs.sal.broker import free_port, is_listening
from dmcs.testing.processes import Cli
from tests.kafka.clients import consume, create_topic, produce, topic_name


@pytest.fixture
def port() -> int:
    return free_port()


def _cli(tmp_path: Path, port: int, **env: str) -> Cli:
    return Cli({**os.environ, "DMCS_HOME": str(tmp_path), "COLUMNS": "200",
                "DMCS_EMBEDDED_BROKER_PORT": str(port), **env})


def _no_java_path() -> str:
    """A PATH with the venv's programs and none of the system's (so no `java`)."""
    return str(Path(sys.executable).parent)


async def test_kafka_starts_serves_reports_and_stops(kafka_distribution: KafkaDistribution,
                                                     tmp_path: Path, port: int) -> None:
    cli = _cli(tmp_path, port)
    try:
        started = await cli.arun("broker", "--broker-kind", "kafka", timeout=120)
        assert started.returncode == 0, started.stderr
        assert re.search(rf"embedded broker started on 127.0.0.1:{port}, pid (\d+) "
                         rf"\(Apache Kafka {kafka_distribution.version}\)", started.stdout)
        status = await cli.arun("broker", "--status")
        found = re.search(r"running on .*, pid (\d+) \(Apache Kafka", status.stdout)
        assert found, status.stdout
        pid = int(found.group(1))

        servers = f"127.0.0.1:{port}"
        topic = topic_name()
        await create_topic(servers, topic, 1)
        await produce(servers, topic, [b"via the shared node"])
        assert await consume(servers, topic, 1) == [b"via the shared node"]
    finally:
        stopped = await cli.arun("broker", "--stop", timeout=60)
    assert stopped.stdout.strip() == f"embedded broker on 127.0.0.1:{port} stopped"
    assert command_line(pid) == []
    assert not is_listening("127.0.0.1", port)
    gone = await cli.arun("broker", "--status")
    assert gone.returncode == ExitCode.NOT_RUNNING
    assert gone.stderr.strip() == f"error: no embedded broker is running on 127.0.0.1:{port}"


def test_without_java_kafka_is_refused_in_one_line_and_tansu_is_the_default(
    tmp_path: Path, port: int
) -> None:
    cli = _cli(tmp_path, port, PATH=_no_java_path())
    refused = cli("broker", "--broker-kind", "kafka")
    assert refused.returncode == ExitCode.BROKER
    assert refused.stderr.startswith("error: no Java runtime: java is not on the PATH;")
    assert refused.stderr.rstrip().endswith("(or choose --broker-kind tansu)")
    assert len(refused.stderr.strip().splitlines()) == 1
    try:
        started = cli("broker")
        assert "(Tansu)" in started.stdout, started.stderr
        wrong_kind = cli("broker", "--stop", "--broker-kind", "kafka")
        assert wrong_kind.returncode == ExitCode.ERROR
        assert "is Tansu, not kafka; `dmcs broker --stop` stops it" in wrong_kind.stderr
    finally:
        stopped = cli("broker", "--stop")
    assert "stopped" in stopped.stdout
    assert not is_listening("127.0.0.1", port)
