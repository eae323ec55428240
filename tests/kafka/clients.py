"""Plain aiokafka clients for the Kafka tests: make a topic, write values, read them back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

READ_TIMEOUT_S = 20.0


def topic_name(prefix: str = "lsst.sal.KafkaTest.") -> str:
    return f"{prefix}t{uuid.uuid4().hex[:8]}"


async def create_topic(servers: str, name: str, replicas: int,
                       options: Mapping[str, Any] | None = None) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers, **(options or {}))
    await admin.start()
    try:
        response: Any = await admin.create_topics([NewTopic(name, 1, replicas)])
    finally:
        await admin.close()
    for topic, code, message in response.topic_errors:
        assert code == 0, f"cannot create {topic}: {message} (code {code})"


def producer(servers: str, options: Mapping[str, Any] | None = None,
             **settings: Any) -> AIOKafkaProducer:
    return AIOKafkaProducer(bootstrap_servers=servers, **(options or {}), **settings)


async def produce(servers: str, topic: str, values: list[bytes],
                  options: Mapping[str, Any] | None = None) -> None:
    """Write `values` with acks=all, each acknowledged."""
    writer = producer(servers, options, acks="all", enable_idempotence=True)
    await writer.start()
    try:
        for value in values:
            await writer.send_and_wait(topic, value)
    finally:
        await writer.stop()


async def consume(servers: str, topic: str, count: int,
                  options: Mapping[str, Any] | None = None) -> list[bytes]:
    """Read the topic from its start until `count` values came (or the timeout passed)."""
    reader = AIOKafkaConsumer(topic, bootstrap_servers=servers, auto_offset_reset="earliest",
                              **(options or {}))
    await reader.start()
    values: list[bytes] = []
    try:
        async with asyncio.timeout(READ_TIMEOUT_S):
            while len(values) < count:
                batches = await reader.getmany(timeout_ms=1000)
                values += [record.value for batch in batches.values() for record in batch]
    except TimeoutError:
        pass
    finally:
        await reader.stop()
    return values


async def end_offset(servers: str, topic: str, options: Mapping[str, Any] | None = None) -> int:
    """How many records partition 0 of `topic` ever took."""
    reader = AIOKafkaConsumer(bootstrap_servers=servers, **(options or {}))
    await reader.start()
    try:
        partition = TopicPartition(topic, 0)
        return int((await reader.end_offsets([partition]))[partition])
    finally:
        await reader.stop()


class SteadyWriter:
    """Writes numbered values one after another (acks=all, idempotent) until stopped, the
    way a CSC keeps publishing through a broker's failure; records what was acknowledged."""

    def __init__(self, servers: str, topic: str, options: Mapping[str, Any] | None = None,
                 **settings: Any) -> None:
        self.topic = topic
        self.writer = producer(servers, options, acks="all", enable_idempotence=True,
                               **settings)
        self.acked: list[bytes] = []
        self.errors: list[BaseException] = []
        #: The longest a single write waited for its acknowledgement, in seconds.
        self.longest_wait_s = 0.0
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def start(self) -> None:
        await self.writer.start()
        self._task = asyncio.create_task(self._write())

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        number = 0
        while not self._stop.is_set():
            value = f"write {number}".encode()
            began = loop.time()
            try:
                await self.writer.send_and_wait(self.topic, value)
            except Exception as err:  # the drill reports every failed write
                self.errors.append(err)
            else:
                self.acked.append(value)
            self.longest_wait_s = max(self.longest_wait_s, loop.time() - began)
            number += 1
            await asyncio.sleep(0.02)

    async def acked_more(self, count: int, timeout: float = 60.0) -> None:
        """Wait until `count` more writes than now were acknowledged."""
        target = len(self.acked) + count
        async with asyncio.timeout(timeout):
            while len(self.acked) < target:
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
        await self.writer.stop()
