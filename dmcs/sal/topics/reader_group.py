"""One Kafka consumer serving several readers, partitions assigned directly (no group join).

Each consumer's assignment is kept small because broker latency grows with it: a CSC reads its
command topics, a Remote its chosen topics, acks have their own group.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord

from dmcs.sal.domain import Domain
from dmcs.sal.fetch_wait import set_fetch_max_wait
from dmcs.sal.log_watch import WATCH_INTERVAL, LogWatch
from dmcs.sal.topics.reader import TopicReader
from dmcs.telemetry import metrics

log = logging.getLogger(__name__)

FAST_FETCH_WAIT_MS = 2
DEFAULT_FETCH_WAIT_MS = 5
IDLE_FETCH_WAIT_MS = 50
ACTIVE_SECONDS = 0.5
#: Longest a reader waits for the history (latest events) on the broker at start.
HISTORY_TIMEOUT = 10.0
#: Closing a consumer whose start was cut short is given this long (it must never hang a stop).
STOP_TIMEOUT_S = 5.0


class ReaderGroup:
    """Reads a set of topics and hands each record to the readers of its topic.

    Readers with ``history`` (events) first receive the latest sample per index that is
    already on the broker; the others receive only what is written after start.

    The embedded broker never answers a waiting fetch early, so each fetch costs its full wait
    in latency, and short waits cost CPU. The group therefore polls with `fetch_max_wait_ms`
    while traffic flows (and after `expect_traffic`), and relaxes to IDLE_FETCH_WAIT_MS when
    nothing arrived for ACTIVE_SECONDS. A configured wait (real Kafka) is used as is.
    """

    def __init__(
        self, domain: Domain, readers: list[TopicReader],
        fetch_max_wait_ms: int = DEFAULT_FETCH_WAIT_MS,
    ) -> None:
        self.domain = domain
        self.readers = readers
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self._by_topic: dict[str, list[TopicReader]] = defaultdict(list)
        for reader in readers:
            self._by_topic[reader.spec.kafka_topic(domain.subname)].append(reader)
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._adaptive = domain.config.fetch_max_wait_ms is None
        self._active_until = 0.0
        self._active = True
        self._log_watch = LogWatch()
        self._next_watch = 0.0

    async def start(self) -> None:
        await self.domain.ensure_topics([r.spec for r in self.readers])
        consumer = self.domain.new_consumer(self.fetch_max_wait_ms)
        try:
            await consumer.start()
        except BaseException:  # cancelled or failed midway: no connection is left open
            with contextlib.suppress(Exception):
                await asyncio.wait_for(consumer.stop(), STOP_TIMEOUT_S)
            raise
        self._consumer = consumer
        partitions = [TopicPartition(t, 0) for t in self._by_topic]
        consumer.assign(partitions)
        ends = await self._true_end_offsets(consumer, partitions)
        history_ends: dict[TopicPartition, int] = {}
        for tp in partitions:
            wants_history = any(r.history for r in self._by_topic[tp.topic])
            if wants_history and ends[tp] > 0:
                consumer.seek(tp, 0)
                history_ends[tp] = ends[tp]
            else:
                consumer.seek(tp, ends[tp])
        await self._catch_up(consumer, history_ends)
        await self._log_watch.shrunk(consumer, partitions)
        self._next_watch = time.monotonic() + WATCH_INTERVAL
        self._task = asyncio.create_task(self._run(consumer))

    @staticmethod
    async def _true_end_offsets(
        consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
    ) -> dict[TopicPartition, int]:
        """End offsets, checked by reading the last batch.

        Some brokers (Tansu) report the last batch's base offset + 1 as the end, which
        would replay the rest of that batch (old commands!) to a new reader. Fetching from
        `reported - 1` returns that whole batch; its last offset + 1 is the true end.
        """
        reported = await consumer.end_offsets(partitions)
        ends = dict(reported)
        unchecked = {tp for tp, end in reported.items() if end > 0}
        for tp in unchecked:
            consumer.seek(tp, reported[tp] - 1)
        while unchecked:
            batch = await consumer.getmany(*unchecked, timeout_ms=2000, max_records=50000)
            if not batch:
                log.warning("could not confirm end offsets of %s",
                            sorted(t.topic for t in unchecked))
                break
            for tp, records in batch.items():
                if records:
                    ends[tp] = max(ends[tp], records[-1].offset + 1)
                    unchecked.discard(tp)
        return ends

    async def _catch_up(
        self, consumer: AIOKafkaConsumer, history_ends: dict[TopicPartition, int]
    ) -> None:
        """Deliver the latest already-written sample per (topic, index) to history readers."""
        latest: dict[tuple[str, bytes | None], ConsumerRecord[bytes, bytes]] = {}
        pending = dict(history_ends)
        deadline = time.monotonic() + HISTORY_TIMEOUT
        while pending:
            batch = await consumer.getmany(timeout_ms=2000, max_records=50000)
            if not batch or time.monotonic() > deadline:
                # Busy topics in the same consumer keep batches coming: bound the wait.
                log.warning("history of %s incomplete after %.0f s",
                            ", ".join(tp.topic for tp in pending), HISTORY_TIMEOUT)
                break
            for tp, records in batch.items():
                end = pending.get(tp)
                for record in records:
                    if end is not None and record.offset < end:
                        latest[(tp.topic, record.key)] = record
                    else:
                        self._dispatch(record)
                if end is not None and records and records[-1].offset + 1 >= end:
                    del pending[tp]
        for record in sorted(latest.values(), key=lambda r: (r.topic, r.offset)):
            self._dispatch(record)

    def expect_traffic(self) -> None:
        """Poll fast from now on for a while (e.g. acks are due: a command was just sent)."""
        self._active_until = time.monotonic() + ACTIVE_SECONDS
        if not self._active:
            self._set_fetch_wait(self.fetch_max_wait_ms)
            self._active = True

    def _relax_if_idle(self) -> None:
        if self._active and time.monotonic() > self._active_until:
            self._set_fetch_wait(IDLE_FETCH_WAIT_MS)
            self._active = False

    def _set_fetch_wait(self, wait_ms: int) -> None:
        if self._adaptive and self._consumer is not None:
            set_fetch_max_wait(self._consumer, wait_ms)

    async def _run(self, consumer: AIOKafkaConsumer) -> None:
        self.expect_traffic()
        while True:
            try:
                batch = await consumer.getmany(
                    timeout_ms=int(ACTIVE_SECONDS * 1000), max_records=5000
                )
            except KafkaError as err:
                log.warning("reading %s failed, retrying: %s", list(self._by_topic), err)
                await asyncio.sleep(0.5)
                continue
            if batch:
                self.expect_traffic()
            else:
                self._relax_if_idle()
            if time.monotonic() >= self._next_watch:
                await self._restart_lost_logs(consumer)
            for records in batch.values():
                for record in records:
                    self._dispatch(record)

    async def _restart_lost_logs(self, consumer: AIOKafkaConsumer) -> None:
        """Read a recreated topic from its start: everything in its new log is new to us."""
        self._next_watch = time.monotonic() + WATCH_INTERVAL
        for tp in await self._log_watch.shrunk(consumer, list(consumer.assignment())):
            log.warning("%s lost its log (broker restarted or topic recreated): "
                        "reading it again from the start", tp.topic)
            consumer.seek(tp, 0)
            self.domain.report_lost_log(tp.topic)

    def _dispatch(self, record: ConsumerRecord[bytes, bytes]) -> None:
        readers = self._by_topic[record.topic]
        decoded = None
        for reader in readers:
            if not reader.accepts_key(record.key):
                reason = "no_key" if record.key is None else "other_index"
                metrics.SKIPPED.labels(record.topic, reason).inc()
                continue
            if decoded is None:
                decoded = reader.decode(record)
                if decoded is None:
                    return
            reader.deliver(decoded)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for reader in self.readers:
            reader.close()
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
