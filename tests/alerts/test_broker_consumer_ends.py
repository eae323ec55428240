"""A community broker's reader stops at the stream's end with every message read, on any
broker: Tansu reports a partition's end as its last batch's first offset + 1, and a reader
that trusted it lost the rest of that batch (4 alerts of a 4 x 4k night's 22,322)."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer

from dmcs.alerts.broker_consumer import BrokerConsumer, MalformedAlert
from dmcs.sal.domain import Domain
from dmcs.testing import unique_subname

MESSAGES = 40


async def test_the_last_batch_is_read_whole(domain: Domain) -> None:
    topic = f"alerts-{unique_subname()}"
    await domain.ensure_kafka_topics([(topic, False)])
    producer = AIOKafkaProducer(bootstrap_servers=domain.bootstrap_servers, linger_ms=500,
                                **domain.config.security)
    await producer.start()
    try:
        sent = [await producer.send(topic, f"not an alert {n}".encode())
                for n in range(MESSAGES)]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    consumer = BrokerConsumer(domain.bootstrap_servers, domain.registry_url, topic)
    try:
        read = await asyncio.to_thread(lambda: list(consumer.messages()))
    finally:
        consumer.close()
    assert len(read) == MESSAGES, f"{len(read)} of {MESSAGES} messages read"
    assert all(isinstance(item, MalformedAlert) for item in read)
    assert consumer.malformed == MESSAGES
