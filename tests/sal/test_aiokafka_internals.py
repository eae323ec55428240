"""The aiokafka internals dmcs relies on (a live consumer's broker wait, the topics its
metadata tracks); these fail if an aiokafka release stops allowing them."""

from __future__ import annotations

import time

from aiokafka import TopicPartition

from dmcs.sal.aiokafka_internals import fetch_max_wait, set_fetch_max_wait, track_topics
from dmcs.sal.domain import Domain


async def test_fetch_wait_changes_on_a_started_consumer(domain: Domain) -> None:
    topic = f"lsst.{domain.subname}.wait"
    await domain.ensure_kafka_topics([(topic, False)])
    consumer = domain.new_consumer(50)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        assert fetch_max_wait(consumer) == 50
        assert set_fetch_max_wait(consumer, 2)
        assert fetch_max_wait(consumer) == 2
        await consumer.getmany(timeout_ms=50)
        assert fetch_max_wait(consumer) == 2
    finally:
        await consumer.stop()


async def test_end_offsets_of_a_tracked_topic_are_prompt(domain: Domain) -> None:
    topics = [f"lsst.{domain.subname}.track{i}" for i in range(5)]
    await domain.ensure_kafka_topics([(t, False) for t in topics])
    consumer = domain.new_consumer(50)
    await consumer.start()
    try:
        assert await track_topics(consumer, topics)
        began = time.monotonic()
        ends = await consumer.end_offsets([TopicPartition(t, 0) for t in topics])
        assert time.monotonic() - began < 0.5
        assert set(ends.values()) == {0}
    finally:
        await consumer.stop()
