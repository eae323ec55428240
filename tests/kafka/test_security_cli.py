"""The `dmcs` command on the secure cluster, as a user at the site meets it: a wrong password is
one line naming the user and the broker (no retry storm); a user who may not write a
component's command topic is told "not authorized" in one line, and the CSC never sees the
command. (Client-level refusals, read permission included: tests/kafka/test_security.py.)
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmcs.cli.errors import ExitCode
from dmcs.kafka import KafkaCluster, ServiceUser
from dmcs.sal.config import REGISTRY_ENV, SUBNAME_ENV
from dmcs.sal.registry.process import RegistryProcess, start_private_registry
from dmcs.testing.kafka_fixtures import SECURE_SUBNAME
from dmcs.testing.processes import STARTUP_TIMEOUT, Cli, read_line
from tests.kafka.clients import end_offset

#: A service of its own (the scheduler's): reads the subname's topics, writes only its own.
OBSERVER = ServiceUser("scheduler", reads=(f"lsst.{SECURE_SUBNAME}.*",),
                       writes=(f"lsst.{SECURE_SUBNAME}.ScriptQueue.*",),
                       creates=(f"lsst.{SECURE_SUBNAME}.*",), groups=("*",))


@pytest.fixture(scope="module")
def secure_registry(secure_kafka_cluster: KafkaCluster,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    env = {**os.environ, **secure_kafka_cluster.client_env("admin")}
    with start_private_registry(secure_kafka_cluster.bootstrap_servers,
                                tmp_path_factory.mktemp("registry"), env) as registry:
        yield registry


def cli_as(cluster: KafkaCluster, registry: RegistryProcess, user: str, home: Path,
           **overrides: str) -> Cli:
    """`dmcs` run with `user`'s credentials (LSST_KAFKA_SECURITY_*), as a service would be."""
    return Cli({**os.environ, **cluster.client_env(user), SUBNAME_ENV: SECURE_SUBNAME,
                REGISTRY_ENV: registry.url, "DMCS_HOME": str(home), "COLUMNS": "250",
                **overrides})


def _failed_logins(cluster: KafkaCluster) -> int:
    return sum(node.log_path.read_text().count("Failed authentication") for node in cluster.nodes)


def test_a_wrong_password_is_one_line_naming_the_user_and_the_broker(
    secure_kafka_cluster: KafkaCluster, secure_registry: RegistryProcess, tmp_path: Path,
) -> None:
    cluster = secure_kafka_cluster
    cli = cli_as(cluster, secure_registry, "sal", tmp_path,
                 LSST_KAFKA_SECURITY_PASSWORD="guess")
    before = _failed_logins(cluster)
    result = cli("run", "Test", "--index", "41", timeout=60)
    assert result.returncode == ExitCode.BROKER, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"the Kafka broker at {cluster.nodes[0].bootstrap_servers} refused user 'sal'" \
        in lines[0] and "invalid credentials" in lines[0], lines[0]
    # one refused login per bootstrap server, and the one that asked why: no retry storm
    assert _failed_logins(cluster) - before <= cluster.size + 1


def test_a_user_without_write_permission_is_not_authorized_and_the_csc_never_sees_it(
    secure_kafka_cluster: KafkaCluster, secure_registry: RegistryProcess, tmp_path: Path,
) -> None:
    cluster = secure_kafka_cluster
    cluster.add_user(OBSERVER)
    log_path = tmp_path / "Test-42.log"
    with log_path.open("w") as log:
        csc = cli_as(cluster, secure_registry, "sal", tmp_path).popen(
            "run", "Test", "--index", "42", "--state", "ENABLED", stdout=subprocess.PIPE,
            stderr=log)
    try:
        banner = read_line(csc.stdout, STARTUP_TIMEOUT)
        assert " running in " in banner, log_path.read_text()
        command_topic = f"lsst.{SECURE_SUBNAME}.Test.command_setScalars"
        before = _offset(cluster, command_topic)
        result = cli_as(cluster, secure_registry, OBSERVER.name, tmp_path)(
            "command", "Test:42", "setScalars", "int0=7", timeout=60)
        assert result.returncode == ExitCode.BROKER, result.stdout + result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert "not authorized" in lines[0] and command_topic in lines[0] \
            and "'scheduler'" in lines[0], lines[0]
        assert _offset(cluster, command_topic) == before  # nothing reached the topic
        assert cli_as(cluster, secure_registry, "sal", tmp_path)(
            "command", "Test:42", "setScalars", "int0=8", timeout=60).returncode == 0
        assert _offset(cluster, command_topic) == before + 1  # the CSC's user may
    finally:
        csc.terminate()
        csc.wait(30)
        assert csc.stdout is not None
        csc.stdout.close()


def _offset(cluster: KafkaCluster, topic: str) -> int:
    return asyncio.run(end_offset(cluster.bootstrap_servers, topic, cluster.client_options()))
