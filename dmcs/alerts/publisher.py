"""Writing alerts to a topic as the alert stream does, with confluent-kafka: Confluent framing
with schema id 1101 (registered, with that id requested, for ``<topic>-value``), no key,
snappy-compressed, a ``producer_timestamp`` header. The filter and the replay use it."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from dmcs.payloads.association.alerts import parsed_schema, schema_id, schema_text
from dmcs.sal.codec import encode, header
from dmcs.services.prompt_processing.alert_stream import PRODUCER_TIMESTAMP

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
FLUSH_TIMEOUT_S = 60.0


class PublishError(RuntimeError):
    """The registry or the broker refused; the text says which and why."""


def register_alert_schema(registry_url: str, topic: str) -> int:
    """Register the alert schema for ``<topic>-value`` asking for id 1101; the id given."""
    wanted = schema_id()
    subject = f"{topic}-value"
    body = json.dumps({"schema": schema_text(), "id": wanted}).encode()
    request = urllib.request.Request(
        f"{registry_url.rstrip('/')}/subjects/{quote(subject, safe='')}/versions",
        data=body, headers={"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            given = int(json.loads(response.read())["id"])
    except (urllib.error.URLError, OSError, ValueError, KeyError) as err:
        raise PublishError(f"registering {subject} at {registry_url}: {err}") from None
    if given != wanted:
        raise PublishError(f"registry {registry_url} gave {subject} id {given}, not {wanted}")
    return given


def ensure_topic(bootstrap_servers: str, topic: str, extra_config: dict[str, str],
                 partitions: int = 1) -> None:
    """Create ``topic`` unless it exists (brokers here do not create topics on first write)."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers, **extra_config})
    future = admin.create_topics([NewTopic(topic, num_partitions=partitions,
                                           replication_factor=-1)])[topic]
    try:
        future.result(timeout=30)
    except KafkaException as err:
        if err.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise PublishError(f"cannot create topic {topic}: {err}") from None


class AlertPublisher:
    """Sends framed alerts to ``topic``; ``close()`` waits for every delivery."""

    def __init__(self, bootstrap_servers: str, registry_url: str, topic: str,
                 extra_config: dict[str, str] | None = None) -> None:
        self.topic = topic
        self.prefix = header(register_alert_schema(registry_url, topic))
        ensure_topic(bootstrap_servers, topic, extra_config or {})
        self.failed = 0
        self.first_error = ""
        self.producer = Producer({"bootstrap.servers": bootstrap_servers,
                                  "compression.type": "snappy", "linger.ms": 5,
                                  "message.max.bytes": 4_000_000, **(extra_config or {})})

    def _delivered(self, error: Any, _message: Any) -> None:
        if error is not None:
            self.failed += 1
            self.first_error = self.first_error or str(error)

    def publish_framed(self, value: bytes) -> None:
        """An alert read from a stream, re-framed with this topic's id (the same schema)."""
        value = self.prefix + value[len(self.prefix):]
        stamp: list[tuple[str, str | bytes | None]] = [
            (PRODUCER_TIMESTAMP, str(int(time.time() * 1000)).encode())]
        while True:
            try:
                self.producer.produce(self.topic, value, headers=stamp,
                                      on_delivery=self._delivered)
                break
            except BufferError:  # the local queue is full: let deliveries drain
                self.producer.poll(0.1)
        self.producer.poll(0)

    def publish(self, packet: dict[str, Any]) -> None:
        self.publish_framed(encode(parsed_schema(), self.prefix, packet))

    def close(self) -> None:
        left = self.producer.flush(FLUSH_TIMEOUT_S)
        if left or self.failed:
            raise PublishError(f"{left + self.failed} alerts not delivered to {self.topic}: "
                               f"{self.first_error or 'timed out'}")
