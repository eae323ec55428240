"""One KRaft node: it serves aiokafka, stops by pid leaving nothing, restarts with its data,
and says why when it cannot start."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from aiokafka.errors import RequestTimedOutError, UnknownTopicOrPartitionError

from dmcs.kafka import KafkaCluster, KafkaDistribution, KafkaNodeError, find_distribution
from dmcs.kafka.cluster import new_cluster_id
from dmcs.kafka.distribution import KafkaDistributionError
from dmcs.kafka.process import command_line, state
from tests.kafka.clients import consume, create_topic, produce, producer, topic_name


def _listening(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, int(port))) == 0


async def test_a_node_serves_aiokafka_producing_and_consuming(kafka_broker: KafkaCluster
                                                              ) -> None:
    topic = topic_name()
    values = [f"sample {i}".encode() for i in range(50)]
    await create_topic(kafka_broker.bootstrap_servers, topic, 1)
    await produce(kafka_broker.bootstrap_servers, topic, values)
    assert await consume(kafka_broker.bootstrap_servers, topic, len(values)) == values
    (cost,) = kafka_broker.usage().values()
    assert 50 * 2**20 < cost.rss_bytes < 1024 * 2**20  # a 512 MiB heap, mostly unused
    assert cost.cpu_seconds > 0


async def test_a_topic_nobody_created_is_not_made_by_a_write(kafka_broker: KafkaCluster
                                                             ) -> None:
    """dmcs creates its topics explicitly: a misspelt topic is an error, not a new topic."""
    with pytest.raises(UnknownTopicOrPartitionError):
        await produce(kafka_broker.bootstrap_servers, topic_name(), [b"lost"],
                      {"request_timeout_ms": 3000})


async def test_stopped_by_pid_nothing_is_left_and_a_restart_keeps_the_data(
    kafka_distribution: KafkaDistribution, tmp_path: Path
) -> None:
    # Started and stopped from this (the main) thread: its JVM is tied to the thread.
    cluster = KafkaCluster(kafka_distribution, tmp_path, 1, die_with_parent=True)
    topic = topic_name()
    await cluster.astart()
    try:
        node = cluster.nodes[0]
        await create_topic(cluster.bootstrap_servers, topic, 1)
        await produce(cluster.bootstrap_servers, topic, [b"before the stop"])
        pid = node.pid
        assert pid is not None
        assert node.stop()
        assert command_line(pid) == []  # no process, not even a zombie
        assert not Path(f"/proc/{pid}").exists()
        assert not _listening(node.bootstrap_servers)
        assert not _listening(f"127.0.0.1:{node.spec.address.controller_port}")

        node.start()
        assert node.pid != pid
        assert await consume(cluster.bootstrap_servers, topic, 1) == [b"before the stop"]
    finally:
        cluster.stop()
    assert not _listening(cluster.bootstrap_servers)


def test_a_node_that_cannot_start_says_why_with_its_log(
    kafka_distribution: KafkaDistribution, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cluster = KafkaCluster(kafka_distribution, tmp_path, 1, ports=[port],
                               die_with_parent=True)
        with pytest.raises(KafkaNodeError) as failed, cluster:
            pass
    assert not cluster.nodes[0].running
    message = str(failed.value)
    assert message.startswith("node 1 exited while starting"), message
    assert "Address already in use" in message
    assert str(cluster.nodes[0].log_path) in message


def test_missing_jars_are_one_line_naming_make_kafka_dist(tmp_path: Path) -> None:
    with pytest.raises(KafkaDistributionError) as missing:
        find_distribution(tmp_path / "jars")
    assert str(missing.value) == (f"Apache Kafka's jars are not in {tmp_path / 'jars'}; "
                                  "run `make kafka-dist` to fetch them")


async def test_without_namespaces_cut_off_freezes_the_node_until_healed(
    kafka_broker: KafkaCluster
) -> None:
    """The SIGSTOP fallback of `cut_off`: the node answers nothing, writes time out."""
    assert kafka_broker.isolation == "sigstop"
    node = kafka_broker.nodes[0]
    topic = topic_name()
    await create_topic(kafka_broker.bootstrap_servers, topic, 1)
    writer = producer(kafka_broker.bootstrap_servers, acks="all", request_timeout_ms=2000)
    await writer.start()
    try:
        await writer.send_and_wait(topic, b"before")  # so the writer knows the topic's leader
        with kafka_broker.cut_off_while(node):
            assert node.pid is not None
            assert state(node.pid) == "T"  # stopped
            assert kafka_broker.reachable_nodes() == []
            with pytest.raises(RequestTimedOutError):
                await writer.send_and_wait(topic, b"while frozen")
        assert kafka_broker.reachable_nodes() == [node]
        await writer.send_and_wait(topic, b"after the thaw")
    finally:
        await writer.stop()
    assert b"after the thaw" in await consume(kafka_broker.bootstrap_servers, topic, 3)


def test_a_process_started_for_a_run_that_crashes_ends_with_it(tmp_path: Path) -> None:
    """`die_with_parent`: a test run killed outright (SIGKILL) leaves no broker behind.

    The node is started from a thread, as the fixtures do; the run is a process of its own
    that prints the child's pid and is then killed.
    """
    run = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import threading, time
            from pathlib import Path
            from dmcs.kafka.process import spawn
            started = []
            thread = threading.Thread(target=lambda: started.append(
                spawn(["sleep", "60"], Path({str(tmp_path / "out.log")!r}),
                      die_with_parent=True)))
            thread.start()
            thread.join()
            print(started[0].pid, flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    assert run.stdout is not None
    child = int(run.stdout.readline())
    assert state(child) not in ("", "Z"), "the child should run while its run does"
    run.kill()
    run.wait(10)
    deadline = time.monotonic() + 10
    while state(child) not in ("", "Z") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert state(child) in ("", "Z"), f"sleep {child} outlived the run that started it"


def test_cluster_ids_are_never_taken_for_an_option_by_the_storage_tool() -> None:
    ids = {new_cluster_id() for _ in range(3000)}  # one in 64 random ids starts with "-"
    assert len(ids) == 3000
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
