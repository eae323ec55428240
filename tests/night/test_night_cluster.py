"""A whole night on a three-node Kafka cluster that loses a node three ways on purpose.

During visit 1 the node leading most command topics is SIGKILLed (and restarted); during
visit 2 the active KRaft controller is SIGKILLed (and restarted); during visit 3 a node is cut
off from the others for 20 s (network namespaces where root may make them, else SIGSTOP).
The night must still be accounted for — every image archived once, every visit alerted or
caught up, no duplicate alerts — the timed commands must all complete, no command may have
two final acks on the wire, and each lost node must be back in sync. The report says, per
drill, the leader changes seen, the client retries logged and the longest command round trip.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from night_drill import NightDrill
from night_topics import read_night_topics
from rich.console import Console

from dmcs.kafka import KafkaCluster, KafkaNode
from dmcs.night.options import NightOptions
from dmcs.night.orchestrator import Night
from dmcs.night.report import print_summary
from dmcs.sal.ack import AckCode
from dmcs.sal.config import REPLICATION_ENV
from dmcs.sal.registry.process import RegistryProcess, start_private_registry
from dmcs.testing import unique_subname

pytestmark = pytest.mark.solo

FROZEN_S = 20.0
FINAL_ACKS = {int(code) for code in AckCode if code.is_final}


@pytest.fixture
def cluster(kafka_cluster: KafkaCluster) -> Iterator[KafkaCluster]:
    yield kafka_cluster
    kafka_cluster.restore()


@pytest.fixture
def cluster_registry(cluster: KafkaCluster, tmp_path: Path) -> Iterator[RegistryProcess]:
    """A registry on the cluster that outlives the night, to read the wire afterwards."""
    env = {**os.environ, REPLICATION_ENV: "3"}
    with start_private_registry(cluster.bootstrap_servers, tmp_path, env) as registry:
        yield registry


class ClusterDrills(NightDrill):
    """Loses a node at three moments of the night, each inside a marked drill window."""

    def __init__(self, night: Night, cluster: KafkaCluster) -> None:
        super().__init__(night)
        self.cluster = cluster

    async def run(self) -> None:
        await self.until(lambda: len(self.science()) >= 1 and self.night.cluster_watch)
        watch = self.night.cluster_watch
        assert watch is not None
        await self.until(lambda: watch._leaders, 60)
        async with watch.drill("command-topic leader SIGKILLed"):
            leader = self.cluster.node(watch.leader_of_most_command_topics())
            leader.kill()
            await self.until(lambda: leader.node_id not in watch._leaders.values(), 60)
            await leader.astart()
            await self.back_in_sync(leader)
        self.done.append(f"leader {leader.node_id} killed")

        await self.until(lambda: len(self.science()) >= 2)
        async with watch.drill("active controller SIGKILLed"):
            controller = await asyncio.to_thread(self.cluster.wait_for_controller)
            controller.kill()
            await asyncio.to_thread(self.cluster.wait_for_controller, controller)
            await controller.astart()
            await self.back_in_sync(controller)
        self.done.append(f"controller {controller.node_id} killed")

        await self.until(lambda: len(self.science()) >= 3)
        async with watch.drill(f"a node cut off for {FROZEN_S:.0f} s ({self.cluster.isolation})"):
            frozen = self.cluster.node(watch.leader_of_most_command_topics())
            with self.cluster.cut_off_while(frozen):
                await asyncio.sleep(FROZEN_S)
            await self.back_in_sync(frozen)
        self.done.append(f"node {frozen.node_id} cut off")

    async def back_in_sync(self, node: KafkaNode) -> None:
        """The node is a replica in sync again on every command topic of the night."""
        watch = self.night.cluster_watch
        assert watch is not None
        for topic in sorted(watch._leaders)[:5]:
            await self.cluster.wait_partition(topic, lambda s: node.node_id in s.isr,
                                              timeout=120)


def final_acks_per_command(cluster: KafkaCluster, registry_url: str, subname: str
                           ) -> dict[tuple[object, ...], int]:
    """Every final ack on every `ackcmd` topic of the night, counted per command (topic,
    index, sender's identity and origin, sequence number), read with confluent-kafka alone."""
    counts: dict[tuple[object, ...], int] = {}
    for topic, ack in read_night_topics(cluster.bootstrap_servers, registry_url, subname,
                                        suffix=".ackcmd"):
        if ack["ack"] in FINAL_ACKS:
            key = (topic, ack.get("salIndex", 0), ack["identity"], ack["origin"],
                   ack["private_seqNum"])
            counts[key] = counts.get(key, 0) + 1
    return counts


@pytest.mark.timeout(900)
async def test_a_night_on_three_brokers_survives_losing_leader_controller_and_a_cut_off_node(
    cluster: KafkaCluster, cluster_registry: RegistryProcess, tmp_path: Path,
) -> None:
    options = NightOptions(root=tmp_path / "night", visits=3, ccds=1, ccd_size=256,
                           cadence=20.0, lead_time=5.0, calibrations=1, deadline=30.0,
                           registry=cluster_registry.url, local_efd=False, live=False,
                           subname=unique_subname("cluster"))
    out = io.StringIO()
    night = Night(options, Console(file=out, width=300), cluster=cluster)
    drills = ClusterDrills(night, cluster)
    drill_task = asyncio.ensure_future(drills.run())
    started = time.monotonic()
    report = await night.run()
    await asyncio.wait_for(drill_task, 60)
    report.write(options.report_path)
    print_summary(report, Console(file=out, width=300), options.report_path)
    print(f"cluster night: {time.monotonic() - started:.0f} s; {json.dumps(report.cluster)}")
    print(out.getvalue()[-4000:])

    assert len(drills.done) == 3, drills.done
    assert report.accounted_for, report.problems
    assert report.images_archived == report.images_expected >= 3 * 2
    assert report.visits_alerted + report.visits_caught_up == 3
    assert report.duplicate_alerts == 0
    summary = report.cluster
    assert summary["brokers"] == 3
    assert summary["probe_commands"] > 30 and summary["probe_failed"] == 0
    by_name = {d["name"].split(" ")[0]: d for d in summary["drills"]}
    assert set(by_name) == {"command-topic", "active", "a"}
    assert by_name["command-topic"]["leader_changes"] >= 1  # the killed node led some
    for drill in summary["drills"]:
        assert drill["commands"] >= 5 and drill["commands_failed"] == 0, drill
    assert "command-topic leader changes" in out.getvalue()  # the printed summary

    acks = await asyncio.to_thread(final_acks_per_command, cluster, cluster_registry.url,
                                   options.subname or "sal")
    assert len(acks) > 50, acks  # the night's commands, the timed ones among them
    twice = {key: n for key, n in acks.items() if n > 1}
    assert not twice, f"commands with more than one final ack: {twice}"
