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
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from dmcs.kafka import KafkaCluster, KafkaNode, PartitionState
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


@dataclass
class _LeaderDrill:
    """What one loss of a partition's leader showed."""

    lost: int
    elected: PartitionState
    elected_after_s: float
    back: PartitionState
    back_after_s: float
    writer: SteadyWriter
    client_log: dict[str, int]

    def __str__(self) -> str:
        return (f"leader {self.lost} lost: node {self.elected.leader} elected after "
                f"{self.elected_after_s:.1f} s, the lost node back in the ISR {self.back.isr} "
                f"after {self.back_after_s:.1f} s; longest write "
                f"{self.writer.longest_wait_s:.2f} s; the clients logged: {self.client_log}")


async def _lose_the_leader(cluster: KafkaCluster, lose: Callable[[KafkaNode], None],
                           bring_back: Callable[[KafkaNode], Awaitable[object]]
                           ) -> _LeaderDrill:
    """Write steadily (acks=all) to a three-way topic, lose its leader, see another elected
    and the writes go on with two in sync, bring the node back, see it in sync again; then
    check that every acknowledged write is there exactly once, in order."""
    topic, state = await _replicated_topic(cluster)
    leader = cluster.node(state.leader)
    writer = SteadyWriter(cluster.bootstrap_servers, topic, request_timeout_ms=REQUEST_TIMEOUT_MS)
    client_log = _ClientLog()
    await writer.start()
    try:
        await writer.acked_more(5)
        began = time.monotonic()
        with client_log:
            lose(leader)
            elected = await cluster.wait_partition(
                topic, lambda s: s.leader not in (-1, leader.node_id))
            elected_after = time.monotonic() - began
            assert leader.node_id not in elected.isr
            assert len(elected.isr) == 2
            await writer.acked_more(10)  # acks=all with two of three in sync
            await bring_back(leader)
        back = await cluster.wait_partition(topic, lambda s: len(s.isr) == 3)
        back_after = time.monotonic() - began
        await writer.acked_more(5)
    finally:
        await writer.stop()
    await _assert_every_ack_read_once(cluster, writer)
    return _LeaderDrill(leader.node_id, elected, elected_after, back, back_after, writer,
                        client_log.summary())


async def test_killing_the_partition_leader_elects_another_and_writes_go_on(
    cluster: KafkaCluster
) -> None:
    drill = await _lose_the_leader(cluster, KafkaNode.kill, KafkaNode.astart)
    log.info("SIGKILL: %s", drill)


async def test_killing_the_active_controller_elects_another(cluster: KafkaCluster) -> None:
    controller = await asyncio.to_thread(cluster.wait_for_controller)
    began = time.monotonic()
    controller.kill()
    successor = await asyncio.to_thread(cluster.wait_for_controller, controller)
    log.info("controller %d killed: node %d leads the quorum after %.1f s",
             controller.node_id, successor.node_id, time.monotonic() - began)
    assert successor.node_id != controller.node_id
    # Creating a topic is the controller's work: the new one does it (once the dead node is
    # fenced: until then aiokafka may send the request to it, as metadata's controller_id).
    await cluster.wait_fenced(controller)
    survivors = ",".join(node.bootstrap_servers for node in cluster.reachable_nodes())
    topic = topic_name()
    await create_topic(survivors, topic, 2)
    await cluster.wait_partition(topic, lambda s: len(s.isr) == 2)

    await controller.astart()
    assert controller.quorum_state()["leaderId"] == successor.node_id  # it follows now


async def test_a_node_cut_off_loses_its_leadership_and_comes_back(cluster: KafkaCluster
                                                                 ) -> None:
    async def heal(node: KafkaNode) -> None:
        cluster.heal(node)

    drill = await _lose_the_leader(cluster, cluster.cut_off, heal)
    log.info("cut off (%s): %s", cluster.isolation, drill)
    # A write stuck on the cut-off leader waits out its request timeout, then goes elsewhere
    # (twice at worst: a retry may still find the old leader in the writer's metadata).
    assert drill.writer.longest_wait_s < 2 * REQUEST_TIMEOUT_MS / 1000 + drill.elected_after_s


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
