"""The registry's log on Kafka: the compacted topic `_schemas`, read from the start and tailed.

Writing a record returns only once this registry has read it back and applied it, with the
verdict of :meth:`SchemaStore.apply` on it: the log decides between registries that write at
once. A broker that lost the topic (Tansu restarted empty) is noticed by its end offset falling
below what was read; the registry then writes its whole state again, so ids stay as they were.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from dmcs.sal.aiokafka_internals import set_fetch_max_wait
from dmcs.sal.log_watch import WATCH_INTERVAL, LogWatch
from dmcs.sal.registry.store import SchemaStore

log = logging.getLogger(__name__)

SCHEMAS_TOPIC = "_schemas"
_TOPIC_EXISTS = 36
#: Longest a write waits to be read back before it is reported as failed.
APPLY_TIMEOUT = 10.0
#: The tail's broker wait while a write waits to be read back, and otherwise (a broker that
#: never answers a waiting fetch early, Tansu, would make every registration wait the latter).
_BUSY_WAIT_MS = 2
_IDLE_WAIT_MS = 200


class LogError(RuntimeError):
    """The log could not be written or read back; the text says why."""


class SchemaLog:
    """Producer + tailing consumer of `_schemas`, feeding a SchemaStore."""

    def __init__(self, bootstrap_servers: str, store: SchemaStore, *,
                 security: Mapping[str, Any] | None = None, replication_factor: int = 1,
                 topic: str = SCHEMAS_TOPIC) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.store = store
        self.topic = topic
        self.replication_factor = replication_factor
        self._security = dict(security or {})
        self._tp = TopicPartition(topic, 0)
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._applied = -1
        self._verdicts: dict[int, bool] = {}
        self._progress = asyncio.Condition()
        self._awaiting = 0
        self.relogged = 0

    async def start(self) -> None:
        """Create the topic if needed, read it all, then keep reading it."""
        await self._create_topic()
        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap_servers, acks="all",
                                          linger_ms=0, **self._security)
        await self._producer.start()
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap_servers,
                                          group_id=None, enable_auto_commit=False,
                                          fetch_max_wait_ms=_IDLE_WAIT_MS, **self._security)
        await self._consumer.start()
        self._consumer.assign([self._tp])
        self._consumer.seek(self._tp, 0)
        end = (await self._consumer.end_offsets([self._tp]))[self._tp]
        while self._applied + 1 < end:
            batch = await self._consumer.getmany(self._tp, timeout_ms=2000, max_records=5000)
            if not batch:
                break
            self._apply(batch.get(self._tp, []))
        self._task = asyncio.create_task(self._tail(), name="registry-log")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for client in (self._consumer, self._producer):
            if client is not None:
                with contextlib.suppress(KafkaError, OSError):
                    await client.stop()
        self._consumer = self._producer = None

    async def append(self, key: dict[str, Any], value: dict[str, Any] | None) -> bool:
        """Write one record; True if, read back in log order, it was accepted."""
        return await self.verdict(await self.send(key, value))

    async def send(self, key: dict[str, Any], value: dict[str, Any] | None) -> int:
        """Write one record; return its offset (see :meth:`verdict`)."""
        assert self._producer is not None and self._consumer is not None
        self._awaiting += 1
        set_fetch_max_wait(self._consumer, _BUSY_WAIT_MS)
        try:
            written = await self._producer.send_and_wait(
                self.topic, None if value is None else json.dumps(value).encode(),
                key=json.dumps(key).encode(), partition=0)
        except KafkaError as err:
            self._done_waiting()
            raise LogError(f"cannot write to {self.topic}: {err}") from None
        return int(written.offset)

    async def verdict(self, offset: int) -> bool:
        """Wait until the record at `offset` is read back; True if it was accepted."""
        try:
            async with self._progress:
                await asyncio.wait_for(
                    self._progress.wait_for(lambda: self._applied >= offset), APPLY_TIMEOUT)
        except TimeoutError:
            raise LogError(f"{self.topic} did not return record {offset} within "
                           f"{APPLY_TIMEOUT:.0f} s") from None
        finally:
            self._done_waiting()
        return self._verdicts.pop(offset, False)

    def _done_waiting(self) -> None:
        self._awaiting -= 1
        if self._awaiting == 0 and self._consumer is not None:
            set_fetch_max_wait(self._consumer, _IDLE_WAIT_MS)

    async def _create_topic(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers, **self._security)
        await admin.start()
        try:
            topic = NewTopic(self.topic, 1, self.replication_factor,
                             topic_configs={"cleanup.policy": "compact"})
            response: Any = await admin.create_topics([topic])
            for name, code, message in response.topic_errors:
                if code not in (0, _TOPIC_EXISTS):
                    raise LogError(f"cannot create topic {name}: {message} (code {code})")
        finally:
            await admin.close()

    def _apply(self, records: list[Any]) -> None:
        for record in records:
            try:
                key = json.loads(record.key or b"null")
                value = None if record.value is None else json.loads(record.value)
            except ValueError:
                log.warning("%s: skipping an undecodable record at offset %d",
                            self.topic, record.offset)
                key = value = None
            self._verdicts[record.offset] = self.store.apply(key, value) if key else False
            self._applied = record.offset

    async def _tail(self) -> None:
        assert self._consumer is not None
        consumer = self._consumer
        watch = LogWatch()
        await watch.shrunk(consumer, [self._tp])
        next_watch = asyncio.get_running_loop().time() + WATCH_INTERVAL
        while True:
            try:
                batch = await consumer.getmany(self._tp, timeout_ms=500, max_records=5000)
            except KafkaError as err:
                log.warning("reading %s failed, retrying: %s", self.topic, err)
                await asyncio.sleep(0.5)
                continue
            if batch:
                async with self._progress:
                    self._apply(batch.get(self._tp, []))
                    self._progress.notify_all()
            now = asyncio.get_running_loop().time()
            if now >= next_watch:
                next_watch = now + WATCH_INTERVAL
                if await watch.shrunk(consumer, [self._tp]):
                    await self._write_again(consumer)

    async def _write_again(self, consumer: AIOKafkaConsumer) -> None:
        """The broker lost the log: write the whole state into the new one and read it."""
        records = self.store.records()
        log.warning("%s lost its log (broker restarted empty?): writing the %d record(s) "
                    "this registry holds again", self.topic, len(records))
        self.relogged += 1
        consumer.seek(self._tp, 0)
        self._applied = -1
        assert self._producer is not None
        for key, value in records:
            with contextlib.suppress(KafkaError):
                await self._producer.send(self.topic, json.dumps(value).encode(),
                                          key=json.dumps(key).encode(), partition=0)
        with contextlib.suppress(KafkaError):
            await self._producer.flush()
