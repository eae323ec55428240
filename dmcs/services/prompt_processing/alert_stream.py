"""The alert stream: each alert packet as one Kafka message on ``lsst.<subname>.alerts``.

Messages use the same Avro single-object encoding as every SAL topic (marker, schema
fingerprint, body) and the alert schema is published on the schemas topic, so a broker
client with no dmcs code can decode them. Keyed by alertId, all on partition 0 (in order).
Sending is fire-and-gather: every packet of a visit is handed to the producer, then all
deliveries are awaited.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import fastavro

from dmcs.payloads.association.alerts import ALERT_SCHEMA, PARSED_SCHEMA
from dmcs.sal.avro_schema import schema_fingerprint
from dmcs.sal.codec import MARKER, encode
from dmcs.sal.domain import Domain
from dmcs.sal.schema_registry import schema_message, schemas_topic

HEADER = MARKER + schema_fingerprint(ALERT_SCHEMA)


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
        self._ready = False

    async def _ensure_topic(self) -> None:
        if self._ready:
            return
        await self.domain.ensure_kafka_topics([(self.topic, False)])
        await self.domain.producer.send_and_wait(
            schemas_topic(self.domain.subname),
            schema_message(self.topic, ALERT_SCHEMA, self.domain.publisher),
            key=HEADER[2:].hex().encode(),
        )
        self._ready = True

    async def send(self, packets: list[dict[str, Any]]) -> int:
        """Send every packet; returns how many the broker acknowledged."""
        await self._ensure_topic()
        producer = self.domain.producer
        deliveries = [
            await producer.send(
                self.topic,
                encode(PARSED_SCHEMA, HEADER, packet),
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
