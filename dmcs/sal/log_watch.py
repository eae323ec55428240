"""Noticing that the broker lost a topic's log (broker restarted empty, topic recreated).

Kafka offsets only grow, so a partition whose end offset falls below the highest end we saw
has a new log: what a reader holds as its position no longer exists there. Other clients
may refill a recreated topic past that mark before we look again, so after the broker was
away a process also checks one record of its own (`Sentinel`) is still where it was. Tansu (memory
storage) loses every topic on restart and answers a fetch beyond the end with nothing, not
OFFSET_OUT_OF_RANGE, so readers would wait forever; a real cluster behaves alike when a
topic is deleted and recreated. Readers and the Domain check with this and start over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

log = logging.getLogger(__name__)

#: How often logs are checked: every process asks once per interval, so an idle deployment
#: pays for a short one (a broker restart is still noticed within seconds).
WATCH_INTERVAL = 2.0
#: A broker that does not answer an offsets request this fast is treated as away.
WATCH_TIMEOUT = 2.0


class LogWatch:
    """Remembers the highest end offset seen per partition; reports partitions that shrank.

    Only the broker's reported end offsets are compared, never a reader's position: Tansu
    reports the last batch's base offset + 1, which may be below a position legitimately.
    """

    def __init__(self) -> None:
        self._highest: dict[TopicPartition, int] = {}
        self._away = False
        #: True when the last call answered after one or more calls that found the broker away.
        self.came_back = False

    async def shrunk(
        self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
    ) -> list[TopicPartition]:
        """Partitions whose log is now shorter than before (empty list if the broker is away)."""
        try:
            ends = await asyncio.wait_for(consumer.end_offsets(partitions), WATCH_TIMEOUT)
        except (KafkaError, OSError, TimeoutError) as err:
            log.debug("end offsets unavailable: %s", err)
            self._away = True
            return []
        self.came_back, self._away = self._away, False
        lost = [tp for tp, end in ends.items() if end < self._highest.get(tp, 0)]
        self._highest.update(ends)
        return lost


@dataclass(frozen=True)
class Sentinel:
    """One record this process wrote: if the broker no longer holds it where it was written,
    the log it was in is not the one we wrote to (the broker restarted empty)."""

    partition: TopicPartition
    offset: int
    value: bytes

    async def intact(self, new_consumer: Callable[[], AIOKafkaConsumer]) -> bool:
        """Fetch the record at our offset and compare; no answer in time counts as lost
        (a needless republish is harmless, a missed one leaves late joiners without events)."""
        consumer = new_consumer()
        try:
            await consumer.start()
            consumer.assign([self.partition])
            consumer.seek(self.partition, self.offset)
            batches = await consumer.getmany(self.partition, timeout_ms=int(WATCH_TIMEOUT * 1000),
                                             max_records=1)
        except (KafkaError, OSError) as err:
            log.debug("sentinel fetch failed: %s", err)
            return False
        finally:
            with contextlib.suppress(KafkaError, OSError, TimeoutError):
                await asyncio.wait_for(consumer.stop(), WATCH_TIMEOUT)
        records = batches.get(self.partition, [])
        return bool(records) and records[0].offset == self.offset \
            and records[0].value == self.value
