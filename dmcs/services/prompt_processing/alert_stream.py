"""The alert stream: one Kafka message per DIASource, as Rubin distributes alerts to brokers.

Each value is Confluent-framed (byte 0, schema id 1101, the ``lsst.v11_1.alert`` Avro body),
the schema registered under the topic's ``<topic>-value`` subject with that id requested, so
a broker's client with a Schema Registry client and lsst-alert-packet (and no dmcs code)
decodes them. Messages have no key (the producer spreads them over the topic's partitions),
a ``producer_timestamp`` header (Unix milliseconds, ASCII), and are snappy-compressed when
this client can (aiokafka needs ``cramjam`` for it; without it they go uncompressed and the
stream says so once). Sending is fire-and-gather: every packet of a visit is handed to the
producer, then all deliveries are awaited.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.codec import has_snappy

from dmcs.payloads.association.alerts import parsed_schema, read_alerts, schema_id, schema_text
from dmcs.sal.codec import encode, header
from dmcs.sal.domain import Domain

log = logging.getLogger(__name__)

#: The topic Rubin's community brokers subscribe to (alert schema major version 11).
RUBIN_ALERT_TOPIC = "lsst-alerts-v11"
PRODUCER_TIMESTAMP = "producer_timestamp"
#: A packet with three 102-pixel cutouts is ~420 kB: batches of a few packets each.
MAX_BATCH_BYTES = 1_000_000
LINGER_MS = 5


def default_alert_topic(subname: str) -> str:
    """``lsst-alerts-v11``; under another subname than ``sal`` (a test), suffixed with it."""
    return RUBIN_ALERT_TOPIC if subname == "sal" else f"{RUBIN_ALERT_TOPIC}.{subname}"


def compression() -> str | None:
    """``snappy`` when aiokafka can compress with it here, else None."""
    return "snappy" if has_snappy() else None


class AlertStream:
    """Publishes alert packets to ``topic`` with a producer of its own (compressed, batched)."""

    def __init__(self, domain: Domain, topic: str | None = None, partitions: int = 1) -> None:
        self.domain = domain
        self.topic = topic or default_alert_topic(domain.subname)
        self.partitions = partitions
        self._prefix: bytes | None = None
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        """Create the topic, register the schema (id 1101) and start the producer."""
        if self._prefix is None:
            await self.domain.ensure_kafka_topics([(self.topic, False)], self.partitions)
            registered = await self.domain.registry.register(
                f"{self.topic}-value", schema_text(), schema_id())
            self._prefix = header(registered)
        if self._producer is None:
            codec = compression()
            if codec is None:
                log.warning("alerts to %s go uncompressed: aiokafka has no snappy codec here "
                            "(install cramjam)", self.topic)
            producer = AIOKafkaProducer(
                bootstrap_servers=self.domain.bootstrap_servers, acks="all",
                compression_type=codec, linger_ms=LINGER_MS, max_batch_size=MAX_BATCH_BYTES,
                max_request_size=4 * MAX_BATCH_BYTES, enable_idempotence=False,
                **self.domain.config.security)
            await producer.start()
            self._producer = producer

    async def close(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()

    def encoded(self, packets: list[dict[str, Any]]) -> list[bytes]:
        """The packets as message values (framed for the registered schema). Needs `start`;
        safe in another thread, where the CPU of encoding stays off the event loop."""
        if self._prefix is None:
            raise RuntimeError("AlertStream.encoded before start: the schema id is unknown")
        schema, prefix = parsed_schema(), self._prefix
        return [encode(schema, prefix, packet) for packet in packets]

    async def send(self, packets: list[dict[str, Any]]) -> int:
        """Send every packet; returns how many the broker acknowledged."""
        await self.start()
        return await self.send_encoded(self.encoded(packets))

    async def send_encoded(self, values: list[bytes]) -> int:
        """Send message values made by `encoded`; returns how many the broker acknowledged."""
        await self.start()
        assert self._producer is not None
        producer = self._producer
        stamp = [(PRODUCER_TIMESTAMP, str(int(time.time() * 1000)).encode())]
        deliveries = [await producer.send(self.topic, value, headers=stamp) for value in values]
        await asyncio.gather(*deliveries)
        return len(deliveries)

    async def send_files(self, paths: list[Path]) -> int:
        total = 0
        for path in paths:
            total += await self.send(await asyncio.to_thread(read_alerts, path))
        return total
