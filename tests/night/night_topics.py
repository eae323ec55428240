"""A night's topics read back as a stranger would: confluent-kafka and the registry alone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dmcs.testing import unique_subname


def read_night_topics(bootstrap_servers: str, registry_url: str, subname: str,
                      suffix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(topic, decoded message) for every message of the `lsst.<subname>.*` topics ending in
    `suffix`, from the beginning to the end each had when reading began (one that does not
    decode raises)."""
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    consumer = Consumer({"bootstrap.servers": bootstrap_servers,
                         "group.id": unique_subname("read"), "enable.auto.commit": False})
    deserialize = AvroDeserializer(SchemaRegistryClient({"url": registry_url}))
    try:
        topics = [t for t in consumer.list_topics(timeout=30).topics
                  if t.startswith(f"lsst.{subname}.") and t.endswith(suffix)]
        ends = {}
        for topic in topics:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=30)
            if high > low:
                ends[topic] = high
        consumer.assign([TopicPartition(t, 0, 0) for t in ends])
        left = dict(ends)
        while left:
            message = consumer.poll(10)
            assert message is not None, f"no more messages; {len(left)} topics unread"
            assert not message.error(), message.error()
            yield message.topic(), deserialize(
                message.value(), SerializationContext(message.topic(), MessageField.VALUE))
            if message.offset() + 1 >= left.get(message.topic(), 0):
                left.pop(message.topic(), None)
    finally:
        consumer.close()
