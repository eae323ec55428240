"""Noticing that the broker lost a topic's log (broker restarted empty, topic recreated).

Kafka offsets only grow, so a partition whose end offset falls below the highest end we saw
has a new log: what a reader holds as its position no longer exists there. Tansu (memory
storage) loses every topic on restart and answers a fetch beyond the end with nothing, not
OFFSET_OUT_OF_RANGE, so readers would wait forever; a real cluster behaves alike when a
topic is deleted and recreated. Readers and the Domain check with this and start over.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

log = logging.getLogger(__name__)

WATCH_INTERVAL = 1.0
#: A broker that does not answer an offsets request this fast is treated as away.
WATCH_TIMEOUT = 2.0


class LogWatch:
    """Remembers the highest end offset seen per partition; reports partitions that shrank.

    Only the broker's reported end offsets are compared, never a reader's position: Tansu
    reports the last batch's base offset + 1, which may be below a position legitimately.
    """

    def __init__(self) -> None:
        self._highest: dict[TopicPartition, int] = {}

    async def shrunk(
        self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
    ) -> list[TopicPartition]:
        """Partitions whose log is now shorter than before (empty list if the broker is away)."""
        try:
            ends = await asyncio.wait_for(consumer.end_offsets(partitions), WATCH_TIMEOUT)
        except (KafkaError, OSError, TimeoutError) as err:
            log.debug("end offsets unavailable: %s", err)
            return []
        lost = [tp for tp, end in ends.items() if end < self._highest.get(tp, 0)]
        self._highest.update(ends)
        return lost
