"""pytest fixtures for Apache Kafka 4 (KRaft) as a real component.

Use them with `pytest_plugins = ["dmcs.testing.kafka_fixtures"]`. All are session-scoped and
skipped, saying why, where Java or the jars of `make kafka-dist` are missing:

- `kafka_broker`: one node on a free loopback port (`.bootstrap_servers`);
- `kafka_cluster`: three nodes, replication factor 3, `min.insync.replicas=2`; in network
  namespaces where this machine allows them (root), so `cut_off` really cuts a node off.
  A test that breaks it (kills, freezes or cuts a node) calls `restore()` when done;
- `secure_kafka_cluster`: three nodes with SASL/SCRAM-SHA-512, prefix ACLs for
  :func:`dmcs.kafka.site_users` on subname `SECURE_SUBNAME`, and a TLS listener with a CA
  made for it. `add_user` gives a test users of its own.

Each node's JVM is tied to the pytest process: a run that dies leaves no broker behind.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dmcs.kafka import KafkaCluster, KafkaDistribution, find_distribution, site_users
from dmcs.kafka.distribution import KafkaDistributionError
from dmcs.kafka.netns import netns_available

#: The subname whose topics the secure cluster's site users may use.
SECURE_SUBNAME = "sal"
SECURE_ALERT_TOPIC = f"lsst.{SECURE_SUBNAME}.alerts"


@pytest.fixture(scope="session")
def kafka_distribution() -> KafkaDistribution:
    try:
        return find_distribution()
    except KafkaDistributionError as err:
        pytest.skip(str(err))


@pytest.fixture(scope="session")
def kafka_broker(kafka_distribution: KafkaDistribution,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    """One Kafka node for the session; `.bootstrap_servers` as the Tansu fixture has."""
    yield from _running(KafkaCluster(kafka_distribution, tmp_path_factory.mktemp("kafka"), 1,
                                     die_with_parent=True))


@pytest.fixture(scope="session")
def kafka_cluster(kafka_distribution: KafkaDistribution,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    """Three nodes for the session (in network namespaces where root may make them)."""
    yield from _running(KafkaCluster(kafka_distribution, tmp_path_factory.mktemp("kafka-cluster"),
                                     3, netns=netns_available(), die_with_parent=True))


@pytest.fixture(scope="session")
def secure_kafka_cluster(kafka_distribution: KafkaDistribution,
                         tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    """Three nodes, SASL/SCRAM and ACLs for the site's users, and a TLS listener."""
    users = site_users(SECURE_SUBNAME, SECURE_ALERT_TOPIC)
    yield from _running(KafkaCluster(kafka_distribution, tmp_path_factory.mktemp("kafka-secure"),
                                     3, users=users, tls=True, die_with_parent=True))


def _running(cluster: KafkaCluster) -> Iterator[KafkaCluster]:
    """The cluster started; at the end SIGKILLed (its data is thrown away: no 6 s shutdown)."""
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop(graceful=False)
