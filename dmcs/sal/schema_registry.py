"""Schemas on the broker: a compacted topic keyed by fingerprint.

Writers publish each topic's schema once per process; any program (the EFD sink, a
third-party tool) can load the topic and decode every message without our classes.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from fastavro import parse_schema

log = logging.getLogger(__name__)


def schemas_topic(subname: str) -> str:
    return f"lsst.{subname}.schemas"


def schema_message(kafka_topic: str, schema: dict[str, Any], publisher: str) -> bytes:
    """The value stored in the schemas topic for one topic's schema.

    `publisher` (unique per process) makes each process's record its own, so a process can
    tell its record from another's of the same schema (see `log_watch.Sentinel`).
    """
    return json.dumps({"topic": kafka_topic, "schema": schema, "publisher": publisher}).encode()


class SchemaCatalog:
    """Fingerprint → parsed schema and topic name, loaded from the schemas topic."""

    def __init__(self) -> None:
        self.schemas: dict[bytes, Any] = {}
        self.topics: dict[bytes, str] = {}
        self.raw: dict[bytes, dict[str, Any]] = {}

    def add(self, fingerprint: bytes, kafka_topic: str, schema: dict[str, Any]) -> None:
        self.schemas[fingerprint] = parse_schema(schema)
        self.topics[fingerprint] = kafka_topic
        self.raw[fingerprint] = schema

    async def load(self, consumer: AIOKafkaConsumer, subname: str) -> int:
        """Read the whole schemas topic with an already-started consumer; return count added."""
        tp = TopicPartition(schemas_topic(subname), 0)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        consumer.seek(tp, 0)
        added = 0
        position = 0
        while position < end:
            batch = await consumer.getmany(tp, timeout_ms=1000, max_records=10000)
            for record in batch.get(tp, []):
                position = record.offset + 1
                try:
                    entry = json.loads(record.value or b"")
                    fingerprint = bytes.fromhex((record.key or b"").decode())
                    self.add(fingerprint, entry["topic"], entry["schema"])
                    added += 1
                except (ValueError, KeyError, TypeError) as err:
                    log.warning("skipping bad entry at offset %d of the schemas topic: %s",
                                record.offset, err)
            if not batch:
                break
        return added
