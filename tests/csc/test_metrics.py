"""What a CSC skips is counted where an operator sees it: its Prometheus `/metrics`."""

from __future__ import annotations

import asyncio
import urllib.request

from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from dmcs.sal.broker import free_port
from dmcs.sal.config import SalConfig
from dmcs.sal.domain import Domain
from dmcs.sal.interface import TopicKind
from dmcs.sal.interfaces import TEST
from dmcs.sal.remote import Remote
from dmcs.testing.processes import CscProcesses


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_malformed_unkeyed_and_foreign_commands_are_counted(
    csc_processes: CscProcesses, sal_config: SalConfig, domain: Domain
) -> None:
    port = free_port()
    await csc_processes.arun("Test", "--index", "1", "--metrics-port", str(port))
    topic = TEST.spec(TopicKind.COMMAND, "setLogLevel").kafka_topic(sal_config.subname)
    producer = AIOKafkaProducer(bootstrap_servers=sal_config.bootstrap_servers,
                                enable_idempotence=False)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"not avro at all", key=b"1")
        await producer.send_and_wait(topic, b"\x00\x00\x00\x00\x07 no such schema id")
    finally:
        await producer.stop()
    async with Remote(domain, TEST, 2, include=()) as other:
        await other.cmd("setLogLevel").send_no_wait(level=10)
    async with Remote(domain, TEST, 1, include=()) as remote:
        ack = await remote.cmd("setLogLevel").start(level=10, timeout=20)
    assert ack.result == "log level DEBUG"

    metrics = await asyncio.to_thread(_scrape, port)
    assert metrics[("dmcs_decode_errors_total", (("topic", topic),))] == 2
    assert metrics[("dmcs_messages_skipped_total",
                    (("reason", "other_index"), ("topic", topic)))] == 1
    completed = (("ack", "COMPLETE"), ("command", "setLogLevel"), ("component", "Test"),
                 ("index", "1"))
    assert metrics[("dmcs_commands_total", completed)] == 1
    never = (("ack", "FAILED"), ("command", "wait"), ("component", "Test"), ("index", "1"))
    assert metrics[("dmcs_commands_total", never)] == 0, "a series exists before its first event"
    unread = f"lsst.{sal_config.subname}.Test.command_wait"
    assert metrics[("dmcs_decode_errors_total", (("topic", unread),))] == 0
    assert metrics[("dmcs_summary_state", (("component", "Test"), ("index", "1")))] == 5
    assert metrics[("dmcs_heartbeats_total", (("component", "Test"), ("index", "1")))] >= 1
