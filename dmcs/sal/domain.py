"""The Domain: one per process; who we are, and the connection everything shares."""

from __future__ import annotations

import asyncio
import functools
import getpass
import itertools
import logging
import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from dmcs.async_resource import AsyncResource
from dmcs.sal.broker import ensure_embedded_broker
from dmcs.sal.config import SalConfig
from dmcs.sal.interface import TopicSpec
from dmcs.sal.log_watch import WATCH_INTERVAL, LogWatch, Sentinel
from dmcs.sal.schema_registry import schema_message, schemas_topic
from dmcs.settings import settings
from dmcs.telemetry import metrics

log = logging.getLogger(__name__)

TOPIC_EXISTS = 36

ResetCallback = Callable[[], Awaitable[None]]


def default_identity() -> str:
    """`user@host`, the identity a person's commands carry."""
    return f"{getpass.getuser()}@{socket.gethostname()}"


class Domain(AsyncResource):
    """Process-wide SAL context: identity, origin, producer, topic creation, sequence numbers.

    Use as ``async with Domain() as domain:``; Controllers and Remotes share it.
    """

    def __init__(self, config: SalConfig | None = None, identity: str | None = None) -> None:
        self.config = config or settings().sal()
        self.identity = identity or default_identity()
        self.origin = os.getpid()
        self._seq = itertools.count(random.randint(1, 2**30))
        self._producer: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._known_topics: set[str] = set()
        self._published_schemas: set[bytes] = set()
        self._create_lock = asyncio.Lock()
        self.bootstrap_servers = self.config.bootstrap_servers or ""
        self.started_embedded_broker = False
        self._specs: dict[bytes, TopicSpec] = {}
        self._reset_callbacks: list[ResetCallback] = []
        self._watch_consumer: AIOKafkaConsumer | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self.broker_resets = 0
        self._lost_log_reported = False
        self._watched = {schemas_topic(self.subname)}
        self._sentinel: Sentinel | None = None
        #: Unique to this Domain: marks the schema records it writes.
        self.publisher = f"{socket.gethostname()}:{self.origin}:{uuid.uuid4().hex[:12]}"

    @property
    def subname(self) -> str:
        return self.config.subname

    async def start(self) -> None:
        if not self.bootstrap_servers:
            broker = await asyncio.to_thread(ensure_embedded_broker)
            self.bootstrap_servers = broker.bootstrap_servers
            self.started_embedded_broker = broker.started
        self._admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers, **self.config.security
        )
        await self._admin.start()
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers,
            acks=1,
            linger_ms=0,
            enable_idempotence=False,
            max_batch_size=262144,
            **self.config.security,
        )
        await self._producer.start()
        await self.ensure_kafka_topics([(schemas_topic(self.subname), True)])
        self._watch_consumer = self.new_consumer(100)
        await self._watch_consumer.start()
        self._watch_task = asyncio.create_task(self._watch_broker())

    def on_broker_reset(self, callback: ResetCallback) -> None:
        """Call `callback` after the broker lost its topics and they were recreated."""
        self._reset_callbacks.append(callback)

    def remove_broker_reset_callback(self, callback: ResetCallback) -> None:
        if callback in self._reset_callbacks:
            self._reset_callbacks.remove(callback)

    def watch_topic(self, kafka_topic: str) -> None:
        """Check `kafka_topic` for a lost log too (one this process writes steadily)."""
        self._watched.add(kafka_topic)

    def report_lost_log(self, topic: str) -> None:
        """A reader found `topic` with a shorter log than before: rebuild on the next check."""
        log.debug("reader reports %s lost its log", topic)
        self._lost_log_reported = True

    async def _watch_broker(self) -> None:
        """Notice a broker that lost its logs and rebuild.

        Signs: a watched topic shrank (the schemas topic, a CSC's own heartbeats), a reader
        or writer found its topic shrank, or, once the broker answers again after being away,
        the first schema record we wrote is no longer where it was. Only topics known to
        exist are asked about: asking Tansu about a missing topic creates it.
        """
        assert self._watch_consumer is not None
        watch = LogWatch()
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            partitions = [TopicPartition(t, 0) for t in sorted(self._watched)]
            lost = bool(await watch.shrunk(self._watch_consumer, partitions))
            if watch.came_back and not lost and self._sentinel is not None:
                lost = not await self._sentinel.intact(lambda: self.new_consumer(100))
            if lost or self._lost_log_reported:
                self._lost_log_reported = False
                try:
                    await self._rebuild_after_reset()
                except Exception as err:
                    log.warning("rebuilding topics after a broker reset failed: %s", err)

    async def _rebuild_after_reset(self) -> None:
        self.broker_resets += 1
        metrics.BROKER_RESETS.inc()
        log.warning("the broker lost its topics (restarted?): recreating topics, "
                    "republishing schemas and late-joiner events")
        self._known_topics.clear()
        self._published_schemas.clear()
        self._sentinel = None
        await self.ensure_kafka_topics([(schemas_topic(self.subname), True)])
        await self.ensure_topics(list(self._specs.values()))
        for callback in list(self._reset_callbacks):
            await callback()

    async def close(self) -> None:
        if self._watch_task is not None:
            self._watch_task.cancel()
            await asyncio.gather(self._watch_task, return_exceptions=True)
            self._watch_task = None
        if self._watch_consumer is not None:
            await self._watch_consumer.stop()
            self._watch_consumer = None
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        if self._admin is not None:
            await self._admin.close()
            self._admin = None

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("Domain is not started; use `async with Domain() as domain`")
        return self._producer

    def next_seq_num(self) -> int:
        """A sequence number unique among this process's commands."""
        return next(self._seq)

    def new_consumer(self, fetch_max_wait_ms: int) -> AIOKafkaConsumer:
        """A consumer that is assigned partitions directly (no group join).

        `fetch_max_wait_ms` is the caller's choice for the embedded broker; the configured
        override, if any, wins.
        """
        return AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            fetch_max_wait_ms=self.config.fetch_max_wait_ms or fetch_max_wait_ms,
            **self.config.security,
        )

    async def ensure_topics(self, specs: list[TopicSpec]) -> None:
        """Create missing topics (1 partition; events compacted) and publish their schemas."""
        await self.ensure_kafka_topics(
            [(s.kafka_topic(self.subname), s.compacted) for s in specs]
        )
        for spec in specs:
            self._specs.setdefault(spec.fingerprint, spec)
            if spec.fingerprint not in self._published_schemas:
                self._published_schemas.add(spec.fingerprint)
                message = schema_message(spec.kafka_topic(self.subname), spec.schema,
                                         self.publisher)
                delivery = await self.producer.send(
                    schemas_topic(self.subname), message, key=spec.fingerprint.hex().encode(),
                )
                if self._sentinel is None:
                    delivery.add_done_callback(functools.partial(self._keep_sentinel, message))

    def _keep_sentinel(self, value: bytes, delivery: asyncio.Future[Any]) -> None:
        """Remember where our first schema record landed (see `Sentinel`)."""
        if self._sentinel is None and not delivery.cancelled() and not delivery.exception():
            written = delivery.result()
            self._sentinel = Sentinel(TopicPartition(written.topic, written.partition),
                                      written.offset, value)

    async def ensure_kafka_topics(self, topics: list[tuple[str, bool]]) -> None:
        """Create the named topics that this process has not yet seen."""
        async with self._create_lock:
            missing = [(n, c) for n, c in topics if n not in self._known_topics]
            if not missing:
                return
            assert self._admin is not None
            new = [NewTopic(n, 1, 1, topic_configs=_topic_configs(c)) for n, c in missing]
            response: Any = await self._admin.create_topics(new)
            for name, code, message in response.topic_errors:
                if code not in (0, TOPIC_EXISTS):
                    raise RuntimeError(f"cannot create topic {name}: {message} (code {code})")
            self._known_topics.update(n for n, _ in missing)


def _topic_configs(compacted: bool) -> dict[str, str]:
    return {"cleanup.policy": "compact"} if compacted else {}
