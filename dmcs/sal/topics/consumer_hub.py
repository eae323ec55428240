"""One Kafka consumer per process, serving every reader of every topic the process reads.

Why one: each consumer polls the broker even when nothing happens, so an idle deployment's
cost grows with the number of consumers; a process has one, assigned every partition of
every topic its readers want (partitions assigned directly: no group join).

- Readers are added and removed in groups (:class:`ReaderGroup`); the consumer's assignment
  is changed by the polling loop between fetches, every other partition re-sought to where
  it was, so nothing is read twice or skipped.
- Events have history, as ts_salobj gives it: a topic newly read starts at the tail (the last
  record; for an indexed component the last `HISTORY_DEPTH` records, keeping the newest per
  salIndex) and those samples reach its readers before anything newer. A reader added to a
  topic already read gets the latest sample per salIndex the process has seen.
- Records are decoded once per topic (:class:`TopicDecoder`) and filtered on the decoded
  salIndex, never on the key. A record whose writer schema is not known yet pauses its
  partition until the registry answers: order is kept and nothing is lost.
- How long a fetch waits at the broker is the broker profile's (:mod:`..broker_profile`):
  a long poll on Kafka; on Tansu short while traffic is expected, growing when idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord

from dmcs.sal.aiokafka_internals import keep_tracking, set_fetch_max_wait, track_topics
from dmcs.sal.log_watch import WATCH_INTERVAL, LogWatch
from dmcs.sal.registry.client import RegistryError
from dmcs.sal.sample import SalSample
from dmcs.sal.topics.decoder import SchemaPending, TopicDecoder
from dmcs.sal.topics.reader import TopicReader

log = logging.getLogger(__name__)

#: Records read back for the history of an indexed component's event (newest per salIndex).
HISTORY_DEPTH = 100
#: Longest a new reader waits for the history (latest events) on the broker.
HISTORY_TIMEOUT = 10.0
#: After traffic, how long fetches keep the short wait (Tansu).
ACTIVE_SECONDS = 0.5
#: Commands, acks and events make more traffic likely (a conversation is under way); steady
#: telemetry and the heartbeats everyone sends every second do not.
_CONVERSATION_PREFIXES = ("command_", "ackcmd", "logevent_")
_HEARTBEAT = "logevent_heartbeat"
_MAX_RECORDS = 5000
_POLL_TIMEOUT_MS = 500
_RETRY_SCHEMA_S = 1.0


@dataclass(eq=False)
class _Topic:
    """One topic the process reads, and its readers."""

    name: str
    decoder: TopicDecoder
    history: bool
    indexed: bool
    readers: list[TopicReader] = field(default_factory=list)
    partitions: list[TopicPartition] = field(default_factory=list)
    #: Newest sample per salIndex (history topics): what a reader added later starts with.
    latest: dict[int, SalSample] = field(default_factory=dict)
    #: Partition -> offset where its history ends, while catching up.
    catching_up: dict[TopicPartition, int] = field(default_factory=dict)
    caught_up: asyncio.Event = field(default_factory=asyncio.Event)
    #: Done once its partitions and start offsets are known (or failed, with why).
    assigned: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())

    def deliver(self, sample: SalSample) -> None:
        if self.history:
            self.latest[sample.salIndex] = sample
        taken = [reader.deliver(sample) for reader in self.readers]
        if not any(taken):
            self.decoder.other_index.inc()


class ConsumerHub:
    """The process's consumer; see the module docstring. Owned by the Domain."""

    def __init__(self, domain: Any) -> None:
        self.domain = domain
        self.profile = domain.profile
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._topics: dict[str, _Topic] = {}
        self._by_partition: dict[TopicPartition, _Topic] = {}
        self._position: dict[TopicPartition, int] = {}
        self._reassign = False
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._paused: set[TopicPartition] = set()
        self._fetches: set[asyncio.Future[None]] = set()
        self._pending: list[_Topic] = []
        self._assigner: asyncio.Task[None] | None = None
        self._wait_ms = self.profile.busy_wait_ms
        self._active_until = 0.0
        self._log_watch = LogWatch()
        self._next_watch = 0.0

    @property
    def topics(self) -> list[str]:
        return sorted(self._topics)

    @property
    def wait_ms(self) -> int:
        """The broker wait of the next fetch (on Tansu short only while traffic is expected)."""
        return self._wait_ms

    # --- readers come and go -----------------------------------------------------------

    async def add(self, readers: list[TopicReader]) -> None:
        """Start serving `readers`; returns once history readers have their history.

        Topics new to the process are assigned in rounds: every add that comes while a round
        is being prepared joins the next one, so starting many Remotes at once costs a few
        reassignments, not one each (each costs up to a fetch's broker wait).
        """
        async with self._lock:
            await self._ensure_consumer()
        joined: list[_Topic] = []
        for reader in readers:
            name = reader.spec.kafka_topic(self.domain.subname)
            topic = self._topics.get(name)
            if topic is None:
                topic = self._new_topic(reader, name)
                self._pending.append(topic)
            elif topic.caught_up.is_set() and topic.history:
                for sample in sorted(topic.latest.values(), key=lambda s: s.private_sndStamp):
                    reader.deliver(sample)
            topic.readers.append(reader)
            joined.append(topic)
        if self._pending and (self._assigner is None or self._assigner.done()):
            self._assigner = asyncio.create_task(self._assign_rounds(), name="sal-assign")
        topics = list(dict.fromkeys(joined))
        await asyncio.gather(*(t.assigned for t in topics))
        waits = [t.caught_up.wait() for t in topics if not t.caught_up.is_set()]
        if waits:
            try:
                await asyncio.wait_for(asyncio.gather(*waits), HISTORY_TIMEOUT)
            except TimeoutError:
                late = sorted(t.name for t in topics if not t.caught_up.is_set())
                log.warning("history of %s incomplete after %.0f s", ", ".join(late),
                            HISTORY_TIMEOUT)
                for topic in topics:
                    self._finish_history(topic)

    async def _assign_rounds(self) -> None:
        """Prepare and hand to the loop every topic waiting to be assigned, a round at a time."""
        assert self._consumer is not None
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self._assign_new(self._consumer, batch)
            except Exception as err:
                for topic in batch:
                    self._topics.pop(topic.name, None)
                    if not topic.assigned.done():
                        topic.assigned.set_exception(err)
                continue
            for topic in batch:
                if not topic.assigned.done():
                    topic.assigned.set_result(None)

    async def remove(self, readers: list[TopicReader]) -> None:
        """Stop serving `readers`; a topic nobody reads any more is unassigned."""
        async with self._lock:
            for reader in readers:
                reader.close()
                name = reader.spec.kafka_topic(self.domain.subname)
                topic = self._topics.get(name)
                if topic is None or reader not in topic.readers:
                    continue
                topic.readers.remove(reader)
                if not topic.readers:
                    del self._topics[name]
                    for tp in topic.partitions:
                        self._by_partition.pop(tp, None)
                        self._position.pop(tp, None)
                        self._paused.discard(tp)
                    self._reassign = True
            if self._reassign:
                self._wake.set()

    def expect_traffic(self) -> None:
        """Fetch with the short wait for a while (acks are due: a command was just sent)."""
        self._active_until = time.monotonic() + ACTIVE_SECONDS
        if self.profile.adaptive_waits and self._wait_ms != self.profile.busy_wait_ms:
            self._set_wait(self.profile.busy_wait_ms)
            self._wake.set()

    async def close(self) -> None:
        for task in [self._task, self._assigner, *self._fetches]:
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._task = None
        for topic in self._topics.values():
            for reader in topic.readers:
                reader.close()
        self._topics.clear()
        if self._consumer is not None:
            with contextlib.suppress(KafkaError, OSError, TimeoutError):
                await asyncio.wait_for(self._consumer.stop(), 5.0)
            self._consumer = None

    # --- internals -----------------------------------------------------------------------

    def _new_topic(self, reader: TopicReader, name: str) -> _Topic:
        spec = reader.spec
        decoder = TopicDecoder(spec, name, self.domain.registry, self.domain.known_id(spec))
        topic = _Topic(name, decoder, reader.history, spec.indexed)
        self._topics[name] = topic
        return topic

    async def _ensure_consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = self.domain.new_consumer(self._wait_ms)
            try:
                await consumer.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(consumer.stop(), 5.0)
                raise
            self._consumer = consumer
            self._task = asyncio.create_task(self._run(consumer), name="sal-consumer")
        return self._consumer

    async def _assign_new(self, consumer: AIOKafkaConsumer, topics: list[_Topic]) -> None:
        """Find the new topics' partitions and start offsets; the loop assigns them."""
        partitions = await self.domain.partitions([t.name for t in topics])
        for topic in topics:
            topic.partitions = partitions[topic.name]
            for tp in topic.partitions:
                self._by_partition[tp] = topic
        wanted = [tp for t in topics for tp in t.partitions]
        await track_topics(consumer, [t.name for t in topics])
        ends = await self._end_offsets(consumer, wanted)
        for topic in topics:
            depth = HISTORY_DEPTH if topic.indexed else 1
            for tp in topic.partitions:
                end = ends[tp]
                start = max(0, end - depth) if topic.history else end
                self._position[tp] = start
                if start < end:
                    topic.catching_up[tp] = end
            if not topic.catching_up:
                topic.caught_up.set()
        self._reassign = True
        self._wake.set()

    async def _end_offsets(self, consumer: AIOKafkaConsumer,
                           partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        if not partitions:
            return {}
        ends: dict[TopicPartition, int] = dict(await consumer.end_offsets(partitions))
        if self.profile.confirm_end_offsets:
            ends = await self._confirmed_ends(ends)
        return ends

    async def _confirmed_ends(self, reported: dict[TopicPartition, int]
                              ) -> dict[TopicPartition, int]:
        """Tansu reports the last batch's base offset + 1 as the end; reading from one
        before it returns that whole batch, whose last offset + 1 is the true end."""
        ends = dict(reported)
        unchecked = {tp for tp, end in reported.items() if end > 0}
        if not unchecked:
            return ends
        probe = self.domain.new_consumer(self.profile.busy_wait_ms)
        await probe.start()
        try:
            probe.assign(sorted(unchecked))
            for tp in unchecked:
                probe.seek(tp, reported[tp] - 1)
            deadline = time.monotonic() + 5.0
            while unchecked and time.monotonic() < deadline:
                batch = await probe.getmany(timeout_ms=1000, max_records=50000)
                for tp, records in batch.items():
                    if records:
                        ends[tp] = max(ends[tp], records[-1].offset + 1)
                        unchecked.discard(tp)
        finally:
            with contextlib.suppress(KafkaError, OSError, TimeoutError):
                await asyncio.wait_for(probe.stop(), 5.0)
        return ends

    def _apply_assignment(self, consumer: AIOKafkaConsumer) -> None:
        """Assign every partition wanted now, each at the position it should read next."""
        self._reassign = False
        wanted = sorted(self._position)
        consumer.assign(wanted)
        for tp in wanted:
            consumer.seek(tp, self._position[tp])
        paused = [tp for tp in wanted if tp in self._paused]
        if paused:
            consumer.pause(*paused)
        # assign() left the consumer tracking only what it assigned: the topics being
        # prepared still need their metadata (end offsets)
        preparing = [t.name for t in self._topics.values() if not t.assigned.done()]
        if preparing:
            keep_tracking(consumer, preparing)

    def _set_wait(self, wait_ms: int) -> None:
        self._wait_ms = wait_ms
        if self._consumer is not None and self.domain.config.fetch_max_wait_ms is None:
            set_fetch_max_wait(self._consumer, wait_ms)

    async def _run(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            if self._reassign:
                self._apply_assignment(consumer)
            if not self._position:
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = await self._poll(consumer)
            self._adapt_wait(batch)
            for tp, records in batch.items():
                topic = self._by_partition.get(tp)
                if topic is not None and tp in self._position and tp not in self._paused:
                    await self._take(consumer, topic, tp, records)
            if self.profile.watch_lost_logs and time.monotonic() >= self._next_watch:
                await self._restart_lost_logs(consumer)

    async def _poll(self, consumer: AIOKafkaConsumer
                    ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        """One fetch, cut short when the assignment must change."""
        self._wake.clear()
        fetch = asyncio.ensure_future(consumer.getmany(timeout_ms=_POLL_TIMEOUT_MS,
                                                       max_records=_MAX_RECORDS))
        wake = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({fetch, wake}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            fetch.cancel()
            raise
        finally:
            wake.cancel()
        if not fetch.done():
            fetch.cancel()
            await asyncio.wait({fetch})  # a cancellation of ours still raises here
            return {}
        try:
            return fetch.result()
        except KafkaError as err:
            log.warning("reading %s failed, retrying: %s", ", ".join(self.topics), err)
            await asyncio.sleep(0.5)
            return {}

    def _adapt_wait(self, batch: dict[TopicPartition, Any]) -> None:
        if not self.profile.adaptive_waits:
            return
        now = time.monotonic()
        if any(_is_conversation(tp.topic) for tp in batch):
            self._active_until = now + ACTIVE_SECONDS
        if now < self._active_until:
            wait = self.profile.busy_wait_ms
        else:
            wait = min(self._wait_ms * 2, self.profile.idle_wait_ms)
        if wait != self._wait_ms:
            self._set_wait(wait)

    async def _take(self, consumer: AIOKafkaConsumer, topic: _Topic, tp: TopicPartition,
                    records: list[ConsumerRecord[bytes, bytes]]) -> None:
        """Decode and deliver (or keep as history) one partition's records, in order."""
        history_end = topic.catching_up.get(tp)
        for record in records:
            if record.offset < self._position[tp]:
                continue  # fetched before a seek moved us past it
            try:
                sample = topic.decoder.decode(record)
            except SchemaPending as pending:
                self._wait_for_schema(consumer, topic, tp, record.offset, pending.schema_id)
                return
            self._position[tp] = record.offset + 1
            if sample is None:
                for reader in topic.readers:
                    reader.malformed += 1
            elif history_end is not None and record.offset < history_end:
                if sample.salIndex not in topic.latest or sample.private_sndStamp >= \
                        topic.latest[sample.salIndex].private_sndStamp:
                    topic.latest[sample.salIndex] = sample
            else:
                topic.deliver(sample)
        if history_end is not None and self._position[tp] >= history_end:
            del topic.catching_up[tp]
            if not topic.catching_up:
                self._finish_history(topic)

    def _finish_history(self, topic: _Topic) -> None:
        """Hand the history (newest sample per salIndex, oldest first) to the readers."""
        if topic.caught_up.is_set():
            return
        topic.catching_up.clear()
        for sample in sorted(topic.latest.values(), key=lambda s: s.private_sndStamp):
            for reader in topic.readers:
                reader.deliver(sample)
        topic.caught_up.set()

    def _wait_for_schema(self, consumer: AIOKafkaConsumer, topic: _Topic, tp: TopicPartition,
                         offset: int, schema_id: int) -> None:
        """Pause `tp` at `offset` until the registry gives schema `schema_id`."""
        self._position[tp] = offset
        consumer.seek(tp, offset)
        consumer.pause(tp)
        self._paused.add(tp)
        fetch = asyncio.ensure_future(self._fetch_schema(topic, tp, schema_id))
        self._fetches.add(fetch)
        fetch.add_done_callback(self._fetches.discard)

    async def _fetch_schema(self, topic: _Topic, tp: TopicPartition, schema_id: int) -> None:
        while True:
            try:
                await topic.decoder.fetch(schema_id)
                break
            except RegistryError as err:
                log.warning("%s: waiting for schema %d from the registry: %s", topic.name,
                            schema_id, err)
                await asyncio.sleep(_RETRY_SCHEMA_S)
        self._paused.discard(tp)
        live = self._consumer
        if live is None or tp not in self._position:
            return  # closed, or the topic was dropped meanwhile
        live.resume(tp)
        self._wake.set()

    async def _restart_lost_logs(self, consumer: AIOKafkaConsumer) -> None:
        """Tansu: read a recreated topic from its start (everything in it is new to us)."""
        self._next_watch = time.monotonic() + WATCH_INTERVAL
        for tp in await self._log_watch.shrunk(consumer, sorted(self._position)):
            log.warning("%s lost its log (broker restarted or topic recreated): reading it "
                        "again from the start", tp.topic)
            self._position[tp] = 0
            consumer.seek(tp, 0)
            self.domain.report_lost_log(tp.topic)


def _is_conversation(kafka_topic: str) -> bool:
    name = kafka_topic.rsplit(".", 1)[-1]
    return name.startswith(_CONVERSATION_PREFIXES) and name != _HEARTBEAT
