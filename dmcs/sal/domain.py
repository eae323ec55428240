"""The Domain: one per process; who we are, and the connections everything shares.

It holds the producers, the one consumer (:class:`ConsumerHub`), the schema registry client
and the registry ids of the topics this process uses. Topics are created on first use (one
partition; events compacted; the configured replication factor), and their schemas
registered for the subject ``<topic>-value`` before anything is written or read.
"""

from __future__ import annotations

import asyncio
import getpass
import itertools
import logging
import os
import random
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from dmcs import metrics
from dmcs.async_resource import AsyncResource
from dmcs.sal.broker import ensure_embedded_broker
from dmcs.sal.broker_profile import BrokerProfile, broker_profile
from dmcs.sal.config import REGISTRY_ENV, SalConfig
from dmcs.sal.interface import TopicKind, TopicSpec
from dmcs.sal.log_watch import WATCH_INTERVAL, LogWatch, Sentinel
from dmcs.sal.registry.client import RegistryClient, RegistryError, SchemaRefusedError
from dmcs.sal.registry.process import ensure_embedded_registry
from dmcs.sal.topics.consumer_hub import ConsumerHub
from dmcs.settings import settings

log = logging.getLogger(__name__)

TOPIC_EXISTS = 36
ResetCallback = Callable[[], Awaitable[None]]


class SchemaRegistrationError(RuntimeError):
    """A topic's schema was refused by the registry or could not be registered."""


def default_identity() -> str:
    """`user@host`, the identity a person's commands carry."""
    return f"{getpass.getuser()}@{socket.gethostname()}"


class Domain(AsyncResource):
    """Process-wide SAL context: identity, origin, producers, consumer, schemas, topics.

    Use as ``async with Domain() as domain:``; Controllers and Remotes share it.
    """

    def __init__(self, config: SalConfig | None = None, identity: str | None = None) -> None:
        self.config = config or settings().sal()
        self.identity = identity or default_identity()
        self.origin = os.getpid()
        self.profile: BrokerProfile = broker_profile(self.config.broker_kind)
        self._seq = itertools.count(random.randint(1, 2**30))
        self._reliable: AIOKafkaProducer | None = None
        self._telemetry: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._known_topics: set[str] = set()
        self._create_lock = asyncio.Lock()
        self.bootstrap_servers = self.config.bootstrap_servers or ""
        self.registry_url = self.config.schema_registry_url or ""
        self.started_embedded_broker = False
        self._registry: RegistryClient | None = None
        self._ids: dict[str, int] = {}
        self._specs: dict[str, TopicSpec] = {}
        self.hub = ConsumerHub(self)
        self._reset_callbacks: list[ResetCallback] = []
        self._watch_consumer: AIOKafkaConsumer | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self.broker_resets = 0
        self._lost_log_reported = False
        self._watched: set[str] = set()
        self._sentinel: Sentinel | None = None

    @property
    def subname(self) -> str:
        return self.config.subname

    async def start(self) -> None:
        if not self.bootstrap_servers:
            broker = await asyncio.to_thread(ensure_embedded_broker)
            self.bootstrap_servers = broker.bootstrap_servers
            self.started_embedded_broker = broker.started
            self.profile = broker_profile(broker.kind)
            if not self.registry_url:
                embedded = await asyncio.to_thread(ensure_embedded_registry,
                                                   self.bootstrap_servers)
                self.registry_url = embedded.url
        if not self.registry_url:
            raise SchemaRegistrationError(
                f"no schema registry for broker {self.bootstrap_servers}: set {REGISTRY_ENV} "
                "(or run `dmcs registry` against that broker)")
        self._registry = RegistryClient(self.registry_url,
                                        retry_for=self.config.registry_retry_s)
        await self._registry.start()
        security = self.config.security
        timeout = self.profile.request_timeout_ms
        self._admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers,
                                          request_timeout_ms=timeout, **security)
        await self._admin.start()
        self._reliable = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers, acks="all", linger_ms=0,
            enable_idempotence=self.profile.idempotent, max_batch_size=262144,
            request_timeout_ms=timeout, **security)
        self._telemetry = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers, acks=self.config.telemetry_acks,
            linger_ms=0, enable_idempotence=False, max_batch_size=262144,
            request_timeout_ms=timeout, **security)
        await self._reliable.start()
        await self._telemetry.start()
        if self.profile.watch_lost_logs:
            self._watch_consumer = self.new_consumer(100)
            await self._watch_consumer.start()
            self._watch_task = asyncio.create_task(self._watch_broker())

    async def close(self) -> None:
        if self._watch_task is not None:
            self._watch_task.cancel()
            await asyncio.gather(self._watch_task, return_exceptions=True)
            self._watch_task = None
        await self.hub.close()
        for client in (self._watch_consumer, self._reliable, self._telemetry):
            if client is not None:
                await client.stop()
        self._watch_consumer = self._reliable = self._telemetry = None
        if self._admin is not None:
            await self._admin.close()
            self._admin = None
        if self._registry is not None:
            await self._registry.close()
            self._registry = None

    # --- what writers and readers use ---------------------------------------------------

    @property
    def registry(self) -> RegistryClient:
        if self._registry is None:
            raise RuntimeError("Domain is not started; use `async with Domain() as domain`")
        return self._registry

    def producer_for(self, kind: TopicKind) -> AIOKafkaProducer:
        """Telemetry's producer waits for the configured acks; every other topic's for all
        in-sync replicas (and is idempotent where the broker allows)."""
        producer = self._telemetry if kind is TopicKind.TELEMETRY else self._reliable
        if producer is None:
            raise RuntimeError("Domain is not started; use `async with Domain() as domain`")
        return producer

    @property
    def producer(self) -> AIOKafkaProducer:
        """The producer of commands, acks and events (all in-sync replicas)."""
        return self.producer_for(TopicKind.EVENT)

    def schema_id(self, spec: TopicSpec) -> int:
        """The registry id of `spec`'s schema (registered by :meth:`ensure_topics`)."""
        try:
            return self._ids[spec.kafka_topic(self.subname)]
        except KeyError:
            raise RuntimeError(f"{spec.kafka_topic(self.subname)} is not set up: "
                               "call ensure_topics first") from None

    def known_id(self, spec: TopicSpec) -> int | None:
        return self._ids.get(spec.kafka_topic(self.subname))

    def next_seq_num(self) -> int:
        """A sequence number unique among this process's commands."""
        return next(self._seq)

    def new_consumer(self, fetch_max_wait_ms: int) -> AIOKafkaConsumer:
        """A consumer that is assigned partitions directly (no group join).

        `fetch_max_wait_ms` is the caller's choice; the configured override, if any, wins.
        """
        return AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            fetch_max_wait_ms=self.config.fetch_max_wait_ms or fetch_max_wait_ms,
            request_timeout_ms=self.profile.request_timeout_ms,
            **self.config.security,
        )

    async def partitions(self, topics: list[str]) -> dict[str, list[TopicPartition]]:
        """Every partition of each (existing) topic."""
        assert self._admin is not None
        described: Any = await self._admin.describe_topics(topics)
        found: dict[str, list[TopicPartition]] = {}
        for entry in described:
            name = entry["topic"]
            numbers = sorted(p["partition"] for p in entry.get("partitions", []))
            found[name] = [TopicPartition(name, n) for n in numbers] or [TopicPartition(name, 0)]
        for name in topics:
            found.setdefault(name, [TopicPartition(name, 0)])
        return found

    async def ensure_topics(self, specs: list[TopicSpec]) -> None:
        """Create missing topics and register their schemas (once per process each)."""
        await self.ensure_kafka_topics(
            [(s.kafka_topic(self.subname), s.compacted) for s in specs])
        missing = [s for s in specs if s.kafka_topic(self.subname) not in self._ids]
        if missing:
            await asyncio.gather(*(self._register(s) for s in missing))

    async def _register(self, spec: TopicSpec) -> None:
        topic = spec.kafka_topic(self.subname)
        try:
            self._ids[topic] = await self.registry.register(spec.subject(self.subname),
                                                            spec.schema_text)
        except SchemaRefusedError as err:
            raise SchemaRegistrationError(
                f"{topic}: the schema registry {self.registry_url} refused its schema: "
                f"{err.message}") from None
        except RegistryError as err:
            raise SchemaRegistrationError(f"{topic}: {err}") from None
        self._specs.setdefault(topic, spec)

    async def ensure_kafka_topics(self, topics: list[tuple[str, bool]],
                                  partitions: int = 1) -> None:
        """Create the named (name, compacted) topics that this process has not yet seen, with
        `partitions` partitions each (SAL topics have one; the alert stream may have more)."""
        async with self._create_lock:
            missing = [(n, c) for n, c in topics if n not in self._known_topics]
            if not missing:
                return
            assert self._admin is not None
            replication = self.config.replication_factor
            new = [NewTopic(n, partitions, replication,
                            topic_configs=_topic_configs(c, replication)) for n, c in missing]
            response: Any = await self._admin.create_topics(new)
            for name, code, message in response.topic_errors:
                if code not in (0, TOPIC_EXISTS):
                    raise RuntimeError(f"cannot create topic {name}: {message} (code {code})")
            self._known_topics.update(n for n, _ in missing)

    # --- a broker that lost its logs (Tansu keeps them in memory) ----------------------

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
        """A reader or writer found `topic` with a shorter log than before: rebuild."""
        log.debug("%s lost its log", topic)
        self._lost_log_reported = True

    def note_written(self, topic: str, partition: int, offset: int, value: bytes) -> None:
        """Remember the first record this process wrote (see `Sentinel`)."""
        if self._sentinel is None:
            self._sentinel = Sentinel(TopicPartition(topic, partition), offset, value)

    async def _watch_broker(self) -> None:
        """Notice a broker that lost its logs and rebuild (Tansu only).

        Signs: a watched topic shrank (a CSC's own heartbeats), a reader or writer found its
        topic shrank, or, once the broker answers again after being away, the first record
        we wrote is no longer where it was. Only topics known to exist are asked about:
        asking Tansu about a missing topic creates it.
        """
        assert self._watch_consumer is not None
        watch = LogWatch()
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            partitions = [TopicPartition(t, 0) for t in sorted(self._watched)]
            lost = bool(partitions) and bool(await watch.shrunk(self._watch_consumer,
                                                                partitions))
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
        log.warning("the broker lost its topics (restarted?): recreating topics and "
                    "republishing late-joiner events")
        self._known_topics.clear()
        self._sentinel = None
        await self.ensure_kafka_topics(
            [(s.kafka_topic(self.subname), s.compacted) for s in self._specs.values()])
        for callback in list(self._reset_callbacks):
            await callback()


def _topic_configs(compacted: bool, replication: int) -> dict[str, str]:
    configs = {"cleanup.policy": "compact"} if compacted else {}
    if replication >= 3:
        configs["min.insync.replicas"] = "2"
    return configs

