"""A ts_salobj-style participant made of confluent-kafka alone, to prove dmcs speaks its wire.

It takes nothing from dmcs: schemas are derived from ts_xml by ts_salobj's rules
(`ts_xml_schemas`), registered with confluent-kafka's SchemaRegistryClient and written with
an `AvroSerializer` (``auto.register.schemas`` off, as ts_salobj runs it), read with an
`AvroDeserializer`; keys are salobj's; the consumer is in a group whose `on_assign` starts event
topics at their tail (the last record) and everything else at the end, as salobj's does. It can
command a CSC (as a Remote) and be commanded (as a CSC: acks, summaryState, heartbeats).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import OFFSET_END, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from ts_xml_schemas import expected_schema, topic_definition

ACK_FIELDS = [
    {"name": "ack", "type": "int", "default": 0, "description": "Acknowledgement code",
     "units": "unitless"},
    {"name": "error", "type": "int", "default": 0,
     "description": "An error code; only relevant if ack=FAILED", "units": "unitless"},
    {"name": "result", "type": "string", "default": "", "description": "Message",
     "units": "unitless"},
    {"name": "identity", "type": "string", "default": "",
     "description": "private_identity field of the command being acknowledged",
     "units": "unitless"},
    {"name": "origin", "type": "int", "default": 0,
     "description": "private_origin field of the command being acknowledged",
     "units": "unitless"},
    {"name": "cmdtype", "type": "int", "default": 0,
     "description": "Index of command in alphabetical list of commands, with 0 being the first",
     "units": "unitless"},
    {"name": "timeout", "type": "double", "default": 0.0,
     "description": "Estimated remaining duration of command; only relevant if ack=INPROGRESS",
     "units": "second"},
]
COMPLETE, FAILED = 303, -302
TAI_MINUS_UTC = 37.0


def ackcmd_schema(component: str) -> dict[str, Any]:
    base = expected_schema(component, "ackcmd", {"description": "Command acknowledgement",
                                                 "fields": []}, indexed=True)
    base["fields"] += ACK_FIELDS
    return base


class SalobjPeer:
    """One component (name, index; an indexed one) on the bus as ts_salobj runs it; see the
    module docstring."""

    def __init__(self, bootstrap: str, registry_url: str, subname: str, component: str,
                 index: int, identity: str, *, tansu: bool = False) -> None:
        self.subname = subname
        self.component = component
        self.index = index
        self.identity = identity
        self.origin = os.getpid()
        self.registry = SchemaRegistryClient({"url": registry_url})
        self.producer = Producer({"bootstrap.servers": bootstrap, "acks": "all",
                                  "linger.ms": 0, "enable.idempotence": not tansu})
        group = {"group.id": f"salobj-peer-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False}
        if tansu:  # Tansu's group joins wait half the session timeout; its empty fetches wake late
            group.update({"session.timeout.ms": 2000, "heartbeat.interval.ms": 500,
                          "fetch.wait.max.ms": 10})
        self.consumer = Consumer({"bootstrap.servers": bootstrap, **group})
        self.admin = AdminClient({"bootstrap.servers": bootstrap})
        self._serializers: dict[str, AvroSerializer] = {}
        self._deserializer = AvroDeserializer(self.registry)
        self._seq = random.randint(1, 2**20)
        self._handlers: dict[str, Callable[[dict[str, Any]], None]] = {}
        self._history_topics: set[str] = set()
        self.received: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Condition()
        self.assigned = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- topics -------------------------------------------------------------------------

    def topic(self, sal_name: str, component: str | None = None) -> str:
        return f"lsst.{self.subname}.{component or self.component}.{sal_name}"

    def _schema(self, component: str, sal_name: str) -> dict[str, Any]:
        if sal_name == "ackcmd":
            return ackcmd_schema(component)
        return expected_schema(component, sal_name, topic_definition(component, sal_name),
                               indexed=True)

    def _serializer(self, component: str, sal_name: str) -> AvroSerializer:
        topic = self.topic(sal_name, component)
        if topic not in self._serializers:
            text = json.dumps(self._schema(component, sal_name))
            self.registry.register_schema(f"{topic}-value", Schema(text, "AVRO"))
            self._serializers[topic] = AvroSerializer(
                self.registry, text, conf={"auto.register.schemas": False})
        return self._serializers[topic]

    def write(self, sal_name: str, fields: dict[str, Any], *, component: str | None = None,
              index: int | None = None, seq_num: int | None = None) -> int:
        """Write one sample (salobj's private fields filled); its private_seqNum."""
        component = component or self.component
        index = self.index if index is None else index
        topic = self.topic(sal_name, component)
        seq = seq_num if seq_num is not None else self._next_seq()
        now = time.time()
        record = {"salIndex": index, "private_sndStamp": now + TAI_MINUS_UTC,
                  "private_rcvStamp": 0.0, "private_efdStamp": now,
                  "private_kafkaStamp": now + TAI_MINUS_UTC, "private_seqNum": seq,
                  "private_revCode": "", "private_identity": self.identity,
                  "private_origin": self.origin, **fields}
        value = self._serializer(component, sal_name)(
            record, SerializationContext(topic, MessageField.VALUE))
        key = b"" if not sal_name.startswith(("command_", "logevent_", "ackcmd")) else (
            f'{{ "name": "{component}", "index": {index}, "topic": "{sal_name}" }}'.encode())
        self.producer.produce(topic, value, key)
        self.producer.flush(10)
        return seq

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # --- reading ------------------------------------------------------------------------

    def read(self, topics: dict[str, bool], handlers: dict[str, Callable[[dict[str, Any]], None]]
             | None = None) -> None:
        """Subscribe to `topics` (name -> has history) and poll in a thread of its own; the
        topics are made first if missing (as a salobj CSC makes its own)."""
        for future in self.admin.create_topics([NewTopic(t, 1) for t in topics]).values():
            try:
                future.result(30)
            except KafkaException as err:
                if "TOPIC_ALREADY_EXISTS" not in str(err):
                    raise
        self._history_topics = {t for t, history in topics.items() if history}
        self._handlers = handlers or {}
        self.consumer.subscribe(list(topics), on_assign=self._on_assign)
        self._spawn(self._poll_loop)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Events from the tail (their last record), everything else from the end."""
        for tp in partitions:
            low, high = consumer.get_watermark_offsets(tp, timeout=10)
            tp.offset = max(low, high - 1) if tp.topic in self._history_topics and high > low \
                else OFFSET_END
        consumer.assign(partitions)
        self.assigned.set()

    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            message = self.consumer.poll(0.1)
            if message is None or message.error():
                continue
            sample = self._deserializer(message.value(), SerializationContext(
                message.topic(), MessageField.VALUE))
            if sample is None:
                continue
            with self._lock:
                self.received.setdefault(message.topic(), []).append(sample)
                self._lock.notify_all()
            handler = self._handlers.get(message.topic())
            if handler is not None:
                handler(sample)

    def wait_for(self, topic: str, predicate: Callable[[dict[str, Any]], bool],
                 timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = next((s for s in self.received.get(topic, []) if predicate(s)), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"nothing matching on {topic} within {timeout} s; saw "
                                       f"{len(self.received.get(topic, []))} sample(s)")
                self._lock.wait(left)

    # --- as a CSC -------------------------------------------------------------------------

    def beat(self) -> None:
        """Heartbeats every second, as every CSC sends them."""
        def loop() -> None:
            while not self._stop.wait(1.0):
                self.write("logevent_heartbeat", {"heartbeat": True})
        self.write("logevent_heartbeat", {"heartbeat": True})
        self._spawn(loop)

    def _spawn(self, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        self._threads.append(thread)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        self.consumer.close()
        self.producer.flush(5)
