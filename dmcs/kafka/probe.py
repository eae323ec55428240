"""Asking a running cluster what it looks like, over the Kafka protocol (aiokafka).

A node is ready when its own listener answers a metadata request and names itself among the
brokers (a fenced or still-recovering broker is left out). The drills ask which node leads a
partition and which replicas are in sync.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.client import AIOKafkaClient

T = TypeVar("T")

#: Short request timeouts: a probe runs against a node that may be starting or dead.
_PROBE_TIMEOUT_MS = 3000


@dataclass(frozen=True)
class PartitionState:
    """One partition as the cluster's metadata describes it."""

    topic: str
    partition: int
    leader: int  # -1 while no replica leads
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


async def broker_ids(bootstrap_servers: str, client_options: Mapping[str, Any]) -> set[int]:
    """The brokers that the first of `bootstrap_servers` to answer reports as serving (given
    one node's address: what that node, and only it, says)."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap_servers,
                            request_timeout_ms=_PROBE_TIMEOUT_MS, **client_options)
    try:
        await client.bootstrap()
        return {broker.nodeId for broker in client.cluster.brokers()}
    finally:
        await client.close()


async def partition_state(
    bootstrap_servers: str, topic: str, partition: int, client_options: Mapping[str, Any]
) -> PartitionState:
    """Leader, replicas and ISR of one partition; KeyError if the topic has no such partition."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers,
                                request_timeout_ms=_PROBE_TIMEOUT_MS, **client_options)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    for found in described["partitions"]:
        if found["partition"] == partition:
            return PartitionState(topic, partition, found["leader"],
                                  tuple(found["replicas"]), tuple(found["isr"]))
    raise KeyError(f"topic {topic!r} has no partition {partition} "
                   f"(error code {described['error_code']})")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to completion from synchronous code, even under a running event loop.

    It gets an event loop of its own in a worker thread, so a launcher called from async code
    (a test, `dmcs night`) blocks only its caller, never confuses the caller's loop.
    """
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()

