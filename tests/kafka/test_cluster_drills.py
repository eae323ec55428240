"""A three-node cluster losing a node on purpose: the partition leader SIGKILLed, the active
KRaft controller SIGKILLed, a node cut off from the others (network namespaces, or SIGSTOP
where they cannot be made). Each time a replacement is elected, acks=all writes go on with
`min.insync.replicas=2`, nothing acknowledged is lost or doubled, and the node comes back.

The cluster is the session's: every drill puts it back (`restore`) whatever happened.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from dmcs.kafka import KafkaCluster, PartitionState
from tests.kafka.clients import SteadyWriter, consume, create_topic, topic_name

log = logging.getLogger(__name__)

#: A write stuck on a node that answers nothing is retried elsewhere after this long
#: (aiokafka's default is 40 s; a client of a cluster should not wait that long).
REQUEST_TIMEOUT_MS = 8000


@pytest.fixture
async def cluster(kafka_cluster: KafkaCluster) -> AsyncIterator[KafkaCluster]:
    """The session's three nodes, all serving; put back after the drill."""
    yield kafka_cluster
    kafka_cluster.restore()


async def _replicated_topic(cluster: KafkaCluster) -> tuple[str, PartitionState]:
    topic = topic_name()
    await create_topic(cluster.bootstrap_servers, topic, 3)
    state = await cluster.wait_partition(topic, lambda s: len(s.isr) == 3)
    return topic, state


async def _assert_every_ack_read_once(cluster: KafkaCluster, writer: SteadyWriter) -> None:
    assert writer.errors == [], f"writes failed: {writer.errors}"
    read = await consume(cluster.bootstrap_servers, writer.topic, len(writer.acked))
    assert read == writer.acked, (f"{len(writer.acked)} acknowledged, {len(read)} read back "
                                  f"({len(set(read))} distinct)")


async def test_the_cluster_keeps_three_copies_and_needs_two_in_sync(cluster: KafkaCluster
                                                                   ) -> None:
    topic, state = await _replicated_topic(cluster)
    assert sorted(state.replicas) == [1, 2, 3]
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    await admin.start()
    try:
        (described,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    settings = {entry[0]: entry[1] for entry in described.resources[0][4]}
    assert settings["min.insync.replicas"] == "2"


async def test_killing_the_partition_leader_elects_another_and_writes_go_on(
    cluster: KafkaCluster
) -> None:
    topic, state = await _replicated_topic(cluster)
    leader = cluster.node(state.leader)
    writer = SteadyWriter(cluster.bootstrap_servers, topic, request_timeout_ms=REQUEST_TIMEOUT_MS)
    await writer.start()
    try:
        await writer.acked_more(5)
        began = time.monotonic()
        leader.kill()
        elected = await cluster.wait_partition(
            topic, lambda s: s.leader not in (-1, leader.node_id))
        elected_after = time.monotonic() - began
        assert leader.node_id not in elected.isr
        assert len(elected.isr) == 2
        await writer.acked_more(10)  # acks=all with two of three in sync
        await leader.astart()
        back = await cluster.wait_partition(topic, lambda s: len(s.isr) == 3)
        rejoined_after = time.monotonic() - began
        await writer.acked_more(5)
    finally:
        await writer.stop()
    log.info("leader %d killed: node %d elected after %.1f s; the killed node back in the ISR "
             "%s after %.1f s; longest write %.2f s", leader.node_id, elected.leader,
             elected_after, back.isr, rejoined_after, writer.longest_wait_s)
    await _assert_every_ack_read_once(cluster, writer)


async def test_killing_the_active_controller_elects_another(cluster: KafkaCluster) -> None:
    controller = await asyncio.to_thread(cluster.wait_for_controller)
    began = time.monotonic()
    controller.kill()
    successor = await asyncio.to_thread(cluster.wait_for_controller, controller)
    log.info("controller %d killed: node %d leads the quorum after %.1f s",
             controller.node_id, successor.node_id, time.monotonic() - began)
    assert successor.node_id != controller.node_id
    # Creating a topic is the controller's work: the new one does it.
    survivors = ",".join(node.bootstrap_servers for node in cluster.reachable_nodes())
    topic = topic_name()
    await create_topic(survivors, topic, 2)
    await cluster.wait_partition(topic, lambda s: len(s.isr) == 2)

    await controller.astart()
    assert controller.quorum_state()["leaderId"] == successor.node_id  # it follows now


async def test_a_node_cut_off_loses_its_leadership_and_comes_back(cluster: KafkaCluster
                                                                 ) -> None:
    topic, state = await _replicated_topic(cluster)
    leader = cluster.node(state.leader)
    writer = SteadyWriter(cluster.bootstrap_servers, topic, request_timeout_ms=REQUEST_TIMEOUT_MS)
    await writer.start()
    client_log = _ClientLog()
    try:
        await writer.acked_more(5)
        began = time.monotonic()
        with client_log, cluster.cut_off_while(leader):
            elected = await cluster.wait_partition(
                topic, lambda s: s.leader not in (-1, leader.node_id))
            elected_after = time.monotonic() - began
            assert leader.node_id not in elected.isr
            await writer.acked_more(10)
        back = await cluster.wait_partition(topic, lambda s: len(s.isr) == 3)
        healed_after = time.monotonic() - began
        await writer.acked_more(5)
    finally:
        await writer.stop()
    log.info("leader %d cut off (%s): node %d elected after %.1f s, back in the ISR %s after "
             "%.1f s; longest write %.2f s; the clients logged: %s", leader.node_id,
             cluster.isolation, elected.leader, elected_after, back.isr, healed_after,
             writer.longest_wait_s, client_log.summary())
    assert writer.longest_wait_s < REQUEST_TIMEOUT_MS / 1000 + elected_after + 5
    await _assert_every_ack_read_once(cluster, writer)


class _ClientLog(logging.Handler):
    """What aiokafka logged while installed (`with`): the clients' view of a partition."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def __enter__(self) -> _ClientLog:
        logging.getLogger("aiokafka").addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("aiokafka").removeHandler(self)

    def summary(self) -> dict[str, int]:
        """Each distinct message (numbers blanked) and how often it came."""
        counts: dict[str, int] = {}
        for message in self.messages:
            key = "".join("#" if c.isdigit() else c for c in message)[:120]
            counts[key] = counts.get(key, 0) + 1
        return counts
