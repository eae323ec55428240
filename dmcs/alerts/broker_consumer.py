"""A community broker's reader of the alert stream: confluent-kafka, the Schema Registry and
lsst-alert-packet, and nothing of dmcs's wire code, so what it reads any broker can read.

Each message's first five bytes name its writer schema (``0x00`` + big-endian id, 1101 for
``lsst.v11_1.alert``); the schema is fetched from the registry once per id and the body is
decoded with the package's ``Schema.deserialize``. A message that is not framed, names an
unknown id or does not decode is a :class:`MalformedAlert`, which a caller counts and skips.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from lsst.alert.packet import Schema

_FRAME = struct.Struct(">bI")
POLL_S = 1.0
#: Once the end offsets are reached, how long more messages are still taken.
DRAIN_S = 0.5


class MalformedAlert(ValueError):
    """A message on the alert topic that is not an alert; the text says why."""


@dataclass(frozen=True)
class ReceivedAlert:
    """One decoded alert and where it came from."""

    packet: dict[str, Any]
    schema_id: int
    partition: int
    offset: int
    key: bytes | None
    headers: dict[str, bytes]
    raw: bytes


@dataclass
class AlertDecoder:
    """Frame + registry + lsst-alert-packet: bytes of a message to an alert packet."""

    registry: SchemaRegistryClient
    _schemas: dict[int, Schema] = field(default_factory=dict)

    def schema(self, schema_id: int) -> Schema:
        known = self._schemas.get(schema_id)
        if known is None:
            try:
                text = self.registry.get_schema(schema_id).schema_str
            except Exception as err:  # the registry's client raises several kinds
                raise MalformedAlert(f"schema id {schema_id} not in the registry: {err}") from None
            known = self._schemas[schema_id] = Schema(json.loads(text or "{}"))
        return known

    def decode(self, raw: bytes | None) -> tuple[int, dict[str, Any]]:
        if raw is None or len(raw) < _FRAME.size or raw[0] != 0:
            raise MalformedAlert(f"not Confluent-framed (starts {(raw or b'')[:8]!r})")
        schema_id = int(_FRAME.unpack_from(raw)[1])
        schema = self.schema(schema_id)
        try:
            packet = schema.deserialize(raw[_FRAME.size:])
        except Exception as err:  # fastavro raises whatever a bad body provokes
            raise MalformedAlert(f"body does not decode with schema {schema_id}: {err!r}") from None
        return schema_id, dict(packet)


def librdkafka_security(security: Mapping[str, Any]) -> dict[str, str]:
    """aiokafka's security keywords (as dmcs settings hold them) in librdkafka's names."""
    names = {"security_protocol": "security.protocol", "sasl_mechanism": "sasl.mechanism",
             "sasl_plain_username": "sasl.username", "sasl_plain_password": "sasl.password"}
    return {names[key]: str(value) for key, value in security.items() if key in names}


class BrokerConsumer:
    """Reads an alert topic from its beginning (``follow``: and then as alerts arrive)."""

    def __init__(self, bootstrap_servers: str, registry_url: str, topic: str,
                 extra_config: dict[str, str] | None = None) -> None:
        self.topic = topic
        self.decoder = AlertDecoder(SchemaRegistryClient({"url": registry_url}))
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap_servers, "group.id": f"dmcs-alerts-{id(self)}",
            "enable.auto.commit": False, **(extra_config or {})})
        self.malformed = 0

    def close(self) -> None:
        self.consumer.close()

    def _partitions(self) -> list[int]:
        metadata = self.consumer.list_topics(self.topic, timeout=30)
        described = metadata.topics.get(self.topic)
        if described is None or described.error is not None:
            raise KafkaException(f"no alert topic {self.topic!r}: "
                                 f"{described.error if described else 'not found'}")
        return sorted(described.partitions)

    def messages(self, follow: bool = False,
                 idle_s: float | None = None) -> Iterator[ReceivedAlert | MalformedAlert]:
        """Every message from the beginning: decoded, or the reason it is not an alert.

        Without ``follow`` it stops at the end offsets seen when it started, once nothing
        more comes for DRAIN_S (Tansu reports a partition's end as its last batch's first
        offset + 1: the rest of that batch comes then); with ``follow``, after ``idle_s``
        seconds without a message (never, if None).
        """
        partitions = self._partitions()
        ends = {}
        for number in partitions:
            low, high = self.consumer.get_watermark_offsets(
                TopicPartition(self.topic, number), timeout=30)
            if high > low:
                ends[number] = high
        self.consumer.assign([TopicPartition(self.topic, n, OFFSET_BEGINNING)
                              for n in partitions])
        idle = 0.0
        while True:
            reached = not follow and not ends
            message = self.consumer.poll(DRAIN_S if reached else POLL_S)
            if message is None:
                idle += POLL_S
                if reached or (idle_s is not None and idle >= idle_s):
                    return
                continue
            idle = 0.0
            if message.error():
                raise KafkaException(message.error())
            number, offset = int(message.partition() or 0), int(message.offset() or 0)
            if number in ends and offset + 1 >= ends[number]:
                del ends[number]
            yield self._received(message, number, offset)

    def _received(self, message: Any, partition: int,
                  offset: int) -> ReceivedAlert | MalformedAlert:
        raw = message.value()
        try:
            schema_id, packet = self.decoder.decode(raw)
        except MalformedAlert as error:
            self.malformed += 1
            return MalformedAlert(f"{self.topic}[{partition}]@{offset}: {error}")
        return ReceivedAlert(packet, schema_id, partition, offset, message.key(),
                             {k: v for k, v in message.headers() or []}, raw)

    def alerts(self, follow: bool = False, idle_s: float | None = None) -> Iterator[ReceivedAlert]:
        """The decoded alerts only (malformed messages counted in ``malformed``)."""
        for item in self.messages(follow, idle_s):
            if isinstance(item, ReceivedAlert):
                yield item
