"""Readers change a live consumer's broker wait; this fails if aiokafka stops allowing it."""

from __future__ import annotations

from aiokafka import TopicPartition

from dmcs.sal.domain import Domain
from dmcs.sal.fetch_wait import fetch_max_wait, set_fetch_max_wait
from dmcs.sal.schema_registry import schemas_topic


async def test_fetch_wait_changes_on_a_started_consumer(domain: Domain) -> None:
    consumer = domain.new_consumer(50)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(schemas_topic(domain.subname), 0)])
        assert fetch_max_wait(consumer) == 50
        assert set_fetch_max_wait(consumer, 2)
        assert fetch_max_wait(consumer) == 2
        await consumer.getmany(timeout_ms=50)
        assert fetch_max_wait(consumer) == 2
    finally:
        await consumer.stop()
