"""The alert stream: each alert packet as one Kafka message on ``lsst.<subname>.alerts``.

Messages use the Confluent wire format of every SAL topic (byte 0, the alert schema's
registry id, Avro body), the schema registered for the subject ``<topic>-value``, so a
broker client with a schema registry client and no dmcs code can decode them. Keyed by
alertId, all on partition 0 (in order). Sending is fire-and-gather: every packet of a visit
is handed to the producer, then all deliveries are awaited.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import fastavro

from dmcs.payloads.association.alerts import ALERT_SCHEMA, PARSED_SCHEMA
from dmcs.sal.avro_schema import schema_text
from dmcs.sal.codec import encode, header
from dmcs.sal.domain import Domain


def alert_topic(subname: str) -> str:
    return f"lsst.{subname}.alerts"


def read_packets(path: Path) -> list[dict[str, Any]]:
    with path.open("rb") as stream:
        return [dict(record) for record in fastavro.reader(stream)]  # type: ignore[arg-type]


class AlertStream:
    """Publishes alert packets through a started Domain's producer."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain
        self.topic = alert_topic(domain.subname)
        self._prefix: bytes | None = None

    async def _ensure_topic(self) -> bytes:
        if self._prefix is None:
            await self.domain.ensure_kafka_topics([(self.topic, False)])
            schema_id = await self.domain.registry.register(f"{self.topic}-value",
                                                           schema_text(ALERT_SCHEMA))
            self._prefix = header(schema_id)
        return self._prefix

    async def send(self, packets: list[dict[str, Any]]) -> int:
        """Send every packet; returns how many the broker acknowledged."""
        prefix = await self._ensure_topic()
        producer = self.domain.producer
        deliveries = [
            await producer.send(
                self.topic,
                encode(PARSED_SCHEMA, prefix, packet),
                key=str(packet["alertId"]).encode(),
                partition=0,
            )
            for packet in packets
        ]
        await asyncio.gather(*deliveries)
        return len(deliveries)

    async def send_files(self, paths: list[Path]) -> int:
        total = 0
        for path in paths:
            total += await self.send(await asyncio.to_thread(read_packets, path))
        return total
