"""The Domain: one per process; who we are, and the connection everything shares."""

from __future__ import annotations

import asyncio
import getpass
import itertools
import logging
import os
import random
import socket
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from dmcs.sal.broker import ensure_embedded_broker
from dmcs.sal.config import SalConfig
from dmcs.sal.interface import TopicSpec
from dmcs.sal.schema_registry import schema_message, schemas_topic

log = logging.getLogger(__name__)

TOPIC_EXISTS = 36


def default_identity() -> str:
    """`user@host`, the identity a person's commands carry."""
    return f"{getpass.getuser()}@{socket.gethostname()}"


class Domain:
    """Process-wide SAL context: identity, origin, producer, topic creation, sequence numbers.

    Use as ``async with Domain() as domain:``; Controllers and Remotes share it.
    """

    def __init__(self, config: SalConfig | None = None, identity: str | None = None) -> None:
        self.config = config or SalConfig.from_env()
        self.identity = identity or default_identity()
        self.origin = os.getpid()
        self._seq = itertools.count(random.randint(1, 2**30))
        self._producer: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._known_topics: set[str] = set()
        self._published_schemas: set[bytes] = set()
        self._create_lock = asyncio.Lock()
        self.bootstrap_servers = self.config.bootstrap_servers or ""

    @property
    def subname(self) -> str:
        return self.config.subname

    async def start(self) -> None:
        if not self.bootstrap_servers:
            broker = await asyncio.to_thread(ensure_embedded_broker)
            self.bootstrap_servers = broker.bootstrap_servers
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

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        if self._admin is not None:
            await self._admin.close()
            self._admin = None

    async def __aenter__(self) -> Domain:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

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
            if spec.fingerprint not in self._published_schemas:
                self._published_schemas.add(spec.fingerprint)
                await self.producer.send(
                    schemas_topic(self.subname),
                    schema_message(spec.kafka_topic(self.subname), spec.schema),
                    key=spec.fingerprint.hex().encode(),
                )

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
