"""The EFD writer: every `lsst.<subname>.*` Kafka topic into InfluxDB, at least once.

Plain Python with no CSC in it (the CSC in :mod:`dmcs.telemetry.efd_writer_csc` is a thin
wrapper), and no interface model: messages are decoded with the schema registry only, as the
site's Telegraf (Sasquatch) does, and laid out as it lays them out: measurement = the schema's
namespace + name (``lsst.sal.Archiver.logevent_imageInOODS``, whatever the topic subname),
time = ``private_efdStamp`` (UTC), no tags, arrays flattened to ``name0 … nameN-1``.

How it works, and why:

- Alone (the default): one consumer, partitions assigned directly (the embedded broker is
  slow at group joins), re-listing topics every `discovery_interval` so new topics are read
  within seconds; while none appears the interval doubles up to `discovery_max_interval`
  (listing every topic is the costliest thing an idle writer does). The consumer group id is
  used only to store offsets.
- In a group (`consumer_group`, as the site's Telegraf replicas run): writers with one
  `group_id` subscribe to every topic starting `lsst.<subname>.` and the group coordinator shares
  the partitions out; metadata is refreshed every `discovery_interval`, so a new topic makes
  the group rebalance and lands with one of them. Before giving partitions up a writer lets
  what it has buffered reach InfluxDB (at most `revoke_drain_timeout`) and commits it; a
  writer that dies is dropped by the coordinator after `session_timeout_ms` and its
  partitions are read by the others from its last commit (minus the replay margin below),
  so points it wrote but had not committed are written again, identical. A partition kept
  across a rebalance is read on from where it was.
- Each fetch becomes a *chunk*: its line protocol text and the offsets after it. Each message
  costs one call of a function compiled for its schema (:mod:`dmcs.telemetry.avro_lines`),
  no await. Chunks queue in order; a batch is whole chunks (≥ `batch_size` points, or older
  than `flush_interval`); up to `writes_in_flight` batches are written at once, so InfluxDB
  parses one while the next is decoded. Offsets are committed in batch order, only after
  InfluxDB accepted the batch, so a crash or an outage re-reads, never skips (a re-written
  point is identical, hence harmless).
- A broker that never answers a waiting fetch early (Tansu) is fetched from with a short
  wait while messages pour in and a wait that doubles, up to `fetch_idle_wait_ms`, while
  they trickle (heartbeats): an idle deployment then costs its broker a few fetches a second
  instead of `1 / fetch_max_wait_ms`, each naming every topic.
- InfluxDB down: the batch is retried with exponential backoff while reading continues into
  the queue; at `max_buffer` points reading pauses; when a write succeeds it resumes.
- Two messages of one topic stamped in the same microsecond would be one point in InfluxDB
  (same measurement, no tags, same time). The later one is moved 1 µs later (repeatedly, until
  free); `private_efdStamp` carries the time used. Restarts replay `REPLAY_MARGIN` messages
  before the committed offset so this bookkeeping is rebuilt and re-written points land
  exactly where they did before.
- A message of a schema id not seen yet pauses its partition while the registry is asked
  (once per id); an id the registry does not have is counted undecodable and skipped, as is
  any malformed message (logged once per topic). A registry that cannot be reached keeps the
  partition paused and is asked again: nothing is skipped for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError, RebalanceInProgressError
from aiokafka.structs import ConsumerRecord

from dmcs import metrics as m
from dmcs.sal.aiokafka_internals import set_fetch_max_wait
from dmcs.sal.codec import HEADER_LEN, MAGIC
from dmcs.sal.registry.client import RegistryClient, RegistryError, UnknownSchemaError
from dmcs.sal.registry.log import SCHEMAS_TOPIC
from dmcs.sal.tai import tai_minus_utc
from dmcs.telemetry.avro_lines import DECODE_ERRORS, Converter, compile_converter
from dmcs.telemetry.influx_http import InfluxError, InfluxHttp

log = logging.getLogger(__name__)

REPLAY_MARGIN = 100
RECENT_STAMPS = 4096
#: Messages per second above which fetches keep their short wait (`fetch_idle_wait_ms`).
BUSY_RATE = 200.0


@dataclass(frozen=True)
class EfdWriterSettings:
    """How the writer batches, buffers and retries (defaults suit ~30,000 msg/s)."""

    batch_size: int = 5000
    flush_interval: float = 0.05
    max_buffer: int = 200_000
    discovery_interval: float = 1.0
    discovery_max_interval: float = 5.0
    retry_min: float = 0.2
    retry_max: float = 5.0
    fetch_max_wait_ms: int = 10
    fetch_min_bytes: int = 1
    #: When set, the wait grows from `fetch_max_wait_ms` to this while traffic is light.
    fetch_idle_wait_ms: int | None = None
    writes_in_flight: int = 2
    registry_retry: float = 1.0
    group_id: str = "dmcs-efd-writer"
    consumer_group: bool = False
    session_timeout_ms: int = 10_000
    revoke_drain_timeout: float = 5.0


def group_settings(group: str) -> dict[str, Any]:
    """`EfdWriterSettings` fields for a writer in consumer group `group` ("": alone)."""
    return {"group_id": group, "consumer_group": True} if group else {}


@dataclass
class EfdHealth:
    """What the writer reports about itself (as CSC telemetry and Prometheus metrics)."""

    topics: int = 0
    messages: int = 0
    points_written: int = 0
    points_dropped: int = 0
    decode_errors: int = 0
    write_errors: int = 0
    buffered: int = 0
    paused: bool = False
    points_per_s: float = 0.0
    batch_latency_ms: float = 0.0
    lag: dict[str, int] = field(default_factory=dict)
    decode_errors_by_topic: dict[str, int] = field(default_factory=dict)

    @property
    def lag_total(self) -> int:
        return sum(self.lag.values())


@dataclass
class _Chunk:
    text: str
    points: int
    offsets: dict[TopicPartition, int]
    received: float


class _Stamps:
    """Timestamps recently used in one measurement, to move colliding points 1 µs on."""

    __slots__ = ("order", "used")

    def __init__(self) -> None:
        self.used: set[int] = set()
        self.order: deque[int] = deque()

    def claim(self, ts: int) -> int:
        used = self.used
        while ts in used:
            ts += 1
        used.add(ts)
        order = self.order
        order.append(ts)
        if len(order) > RECENT_STAMPS:
            used.discard(order.popleft())
        return ts


class _Rebalance(ConsumerRebalanceListener):
    """Hands the group's partition moves to the writer."""

    def __init__(self, writer: EfdWriter) -> None:
        self.writer = writer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.writer._on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self.writer._on_assigned(set(assigned))


class EfdWriter:
    """Kafka → InfluxDB for one topic subname. ``await start()``, ``await stop()``."""

    def __init__(
        self,
        bootstrap_servers: str,
        subname: str,
        influx: InfluxHttp,
        registry_url: str,
        settings: EfdWriterSettings | None = None,
        security: Mapping[str, Any] | None = None,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.subname = subname
        self.influx = influx
        self.registry = RegistryClient(registry_url)
        self.settings = settings or EfdWriterSettings()
        self._security = dict(security or {})
        self._prefix = f"lsst.{subname}."
        self._consumer: AIOKafkaConsumer | None = None
        self._reader: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._converters: dict[int, tuple[str, Converter]] = {}
        self._stamps: dict[str, _Stamps] = defaultdict(_Stamps)
        self._assigned: set[TopicPartition] = set()
        self._position: dict[TopicPartition, int] = {}
        self._written: dict[TopicPartition, int] = {}
        self._awaiting_schema: dict[TopicPartition, int] = {}
        self._measurements_of: dict[str, set[str]] = defaultdict(set)
        self._revoked: dict[TopicPartition, tuple[int, int | None]] = {}
        self._stopping = False
        self._fetching: dict[int, asyncio.Task[None]] = {}
        self._unknown_ids: set[int] = set()
        self._logged_bad_topics: set[str] = set()
        self._pending: deque[_Chunk] = deque()
        self._in_flight = 0
        self._writes: deque[tuple[asyncio.Task[None], list[_Chunk], int]] = deque()
        self._write_started = asyncio.Event()
        self._write_done = asyncio.Event()
        self._changed = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self.health = EfdHealth()
        self._rate_window: deque[tuple[float, int]] = deque(maxlen=11)
        self._wait_ms = self.settings.fetch_max_wait_ms

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect to Kafka, make sure the database exists, start reading and writing."""
        settings = self.settings
        group: dict[str, Any] = {}
        if settings.consumer_group:
            group = {"session_timeout_ms": settings.session_timeout_ms,
                     "heartbeat_interval_ms": max(100, settings.session_timeout_ms // 3),
                     "metadata_max_age_ms": max(100, int(settings.discovery_interval * 1000))}
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            group_id=settings.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=settings.fetch_max_wait_ms,
            fetch_min_bytes=settings.fetch_min_bytes,
            max_partition_fetch_bytes=4 * 1024 * 1024,
            **group,
            **self._security,
        )
        await consumer.start()
        self._consumer = consumer
        await self.registry.start()
        try:
            await self.influx.create_database()
        except InfluxError as err:
            log.warning("cannot create the EFD database yet (will retry on write): %s", err)
        if settings.consumer_group:
            consumer.subscribe(pattern=f"^{re.escape(self._prefix)}", listener=_Rebalance(self))
        else:
            await self._discover()
        self._rate_window.append((time.monotonic(), 0))
        self._reader = asyncio.create_task(self._read_loop(), name="efd-read")
        self._tasks = [asyncio.create_task(self._write_loop(), name="efd-write"),
                       asyncio.create_task(self._commit_loop(), name="efd-commit"),
                       asyncio.create_task(self._discover_loop(), name="efd-discover")]

    async def stop(self, drain_timeout: float = 5.0) -> None:
        """Stop reading; write what is buffered if InfluxDB takes it within `drain_timeout`."""
        self._stopping = True
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
        deadline = time.monotonic() + drain_timeout
        while (self._pending or self._in_flight) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        tasks = [*self._tasks, *(write for write, _, _ in self._writes),
                 *self._fetching.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks = []
        self._writes.clear()
        if self._consumer is not None:
            if self._written:  # whatever was written, even if its commit was cut short
                await self._commit([])
            await self._consumer.stop()
            self._consumer = None
        await self.registry.close()

    @property
    def topics(self) -> frozenset[str]:
        """The topics this writer reads now (in a group: its share of them)."""
        return frozenset(tp.topic for tp in self._assigned)

    @property
    def consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("EfdWriter is not started")
        return self._consumer

    # --- topics ---------------------------------------------------------------------------

    async def _discover_loop(self) -> None:
        settings = self.settings
        interval = settings.discovery_interval
        while True:
            await asyncio.sleep(interval)
            if settings.consumer_group:  # the group coordinator assigns
                self.refresh_health()
                continue
            try:
                found = await self._discover()
            except KafkaError as err:
                log.warning("listing topics failed, retrying: %s", err)
                found = False
            interval = settings.discovery_interval if found else \
                min(2 * interval, settings.discovery_max_interval)
            self.refresh_health()

    async def _discover(self) -> bool:
        """Assign any new `lsst.<subname>.*` topic, keep the others where they are; True if
        there was one."""
        consumer = self.consumer
        # Only topics that exist (naming a missing one would make the broker create it), with
        # all their partitions. `topics()` would drop the partition lists, hence the client.
        cluster = await consumer._client.fetch_all_metadata()
        wanted = {TopicPartition(n, p) for n in cluster.topics()
                  if n.startswith(self._prefix) and n != SCHEMAS_TOPIC
                  for p in cluster.partitions_for_topic(n) or ()}
        new = wanted - self._assigned
        if not new:
            return False
        starts = {tp: await self._start_offset(tp) for tp in new}
        self._assigned |= new
        consumer.assign(sorted(self._assigned))
        for tp in self._assigned:
            consumer.seek(tp, starts[tp] if tp in starts else self._position[tp])
        self._position.update(starts)
        self._settle()
        log.info("reading %d new topic(s): %s", len(new), ", ".join(sorted(t.topic for t in new)))
        return True

    def _settle(self) -> None:
        """After the assignment changed: pause what must wait, count the topics."""
        paused = [tp for tp in self._assigned if tp in self._awaiting_schema]
        if not self._room.is_set():
            paused = list(self._assigned)
        if paused:
            self.consumer.pause(*paused)
        topics = {tp.topic for tp in self._assigned}
        m.EFD_TOPICS.set(len(topics))
        self.health.topics = len(topics)

    # --- the group's rebalances (consumer_group only) ------------------------------------

    async def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        """Before the group moves partitions: let InfluxDB take what is buffered, commit it,
        and forget the partitions (chunks still in the queue are written, never committed
        here: whoever reads them next re-writes the same points)."""
        self.consumer.pause(*(revoked & self._assigned))
        deadline = time.monotonic() + self.settings.revoke_drain_timeout
        while (self._pending or self._in_flight) and not self._stopping \
                and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if self._written:
            await self._commit([])
        for tp in revoked & self._assigned:
            self._revoked[tp] = (self._position.pop(tp, 0), self._written.pop(tp, None))
        chunks = [*self._pending, *(c for _, batch, _ in self._writes for c in batch)]
        for chunk in chunks:
            for tp in revoked.intersection(chunk.offsets):
                del chunk.offsets[tp]
        self._assigned -= revoked

    async def _on_assigned(self, assigned: set[TopicPartition]) -> None:
        """After the group moved partitions: read on those this writer kept, read the new
        ones from their last commit (minus the replay margin, collision bookkeeping anew)."""
        kept, self._revoked = self._revoked, {}
        consumer = self.consumer
        for tp in assigned:
            if tp in kept:
                self._position[tp], written = kept[tp]
                if written is not None:
                    self._written[tp] = written
            else:
                self._awaiting_schema.pop(tp, None)
                for measurement in self._measurements_of.get(tp.topic, ()):
                    self._stamps.pop(measurement, None)
                self._position[tp] = await self._start_offset(tp)
            consumer.seek(tp, self._position[tp])
        for tp in set(self._awaiting_schema) - assigned:
            del self._awaiting_schema[tp]
        self._assigned = set(assigned)
        self._settle()
        log.info("group %s: this writer reads %d partition(s) (%d new)", self.settings.group_id,
                 len(assigned), len(assigned - set(kept)))

    async def _start_offset(self, tp: TopicPartition) -> int:
        """Where a newly seen topic is read from: the committed offset (minus a replay margin
        that rebuilds the collision bookkeeping), else the beginning."""
        committed = await self.consumer.committed(tp)
        return 0 if committed is None else max(0, committed - REPLAY_MARGIN)

    # --- reading --------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        consumer = self.consumer
        last = time.monotonic()
        while True:
            if not self._room.is_set():
                self._set_paused(True)
                await self._room.wait()
                self._set_paused(False)
            try:
                batch = await consumer.getmany(timeout_ms=200,
                                               max_records=self.settings.batch_size)
            except KafkaError as err:
                log.warning("reading Kafka failed, retrying: %s", err)
                await asyncio.sleep(0.5)
                continue
            now = time.monotonic()
            received = sum(len(records) for records in batch.values())
            self._adapt_wait(received / max(now - last, 1e-3))
            last = now
            if batch:
                self._take(batch)

    def _adapt_wait(self, rate: float) -> None:
        """Short waits while messages pour in, doubling up to the idle wait otherwise."""
        idle = self.settings.fetch_idle_wait_ms
        if idle is None:
            return
        busy = self.settings.fetch_max_wait_ms
        wait = busy if rate >= BUSY_RATE else min(2 * self._wait_ms, idle)
        if wait != self._wait_ms:
            self._wait_ms = wait
            set_fetch_max_wait(self.consumer, wait)

    def _take(self, batch: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> None:
        """Turn one fetch into one chunk of line protocol."""
        lines: list[str] = []
        offsets: dict[TopicPartition, int] = {}
        offset = tai_minus_utc()
        messages = 0
        for tp, records in batch.items():
            if not records or tp in self._awaiting_schema or tp not in self._assigned:
                continue
            next_offset = self._decode_into(tp, records, lines, offset)
            messages += next_offset - records[0].offset
            offsets[tp] = next_offset
            self._position[tp] = next_offset
            m.EFD_MESSAGES.labels(tp.topic).inc(next_offset - records[0].offset)
        self.health.messages += messages
        if offsets:
            self._pending.append(_Chunk("".join(lines), len(lines), offsets, time.monotonic()))
            self.health.buffered += len(lines)
            if self.health.buffered >= self.settings.max_buffer:
                self._room.clear()
            self._changed.set()

    def _decode_into(
        self, tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]],
        lines: list[str], tai_offset: float,
    ) -> int:
        """Append a line per good record; return the offset to read next for `tp`.

        Stops early (and pauses the partition) at a record whose schema is not known yet.
        """
        topic = tp.topic
        append = lines.append
        prefix = b""
        convert: Converter | None = None
        claim: Any = None
        for record in records:
            raw = record.value
            if raw is None or not raw.startswith(prefix) or convert is None:
                if raw is None or len(raw) < HEADER_LEN or raw[0] != MAGIC:
                    self._bad(topic, "not Confluent wire format "
                              f"(starts {(raw or b'')[:12]!r})")
                    continue
                schema_id = int.from_bytes(raw[1:HEADER_LEN], "big")
                known = self._converters.get(schema_id)
                if known is None:
                    if schema_id in self._unknown_ids:
                        self._bad(topic, f"schema id {schema_id} is not in the registry")
                        continue
                    self._await_schema(tp, record.offset, schema_id)
                    return record.offset
                measurement, convert = known
                claim = self._stamps[measurement].claim
                self._measurements_of[topic].add(measurement)
                prefix = raw[:HEADER_LEN]
            try:
                append(convert(raw, record.timestamp * 1000, claim, tai_offset))
            except DECODE_ERRORS as err:
                self._bad(topic, f"body does not match its schema: {err!r}")
        return records[-1].offset + 1

    def _await_schema(self, tp: TopicPartition, offset: int, schema_id: int) -> None:
        """Pause `tp` at `offset` until the registry answers for `schema_id` (asked once)."""
        self.consumer.seek(tp, offset)
        self.consumer.pause(tp)
        self._awaiting_schema[tp] = schema_id
        if schema_id not in self._fetching:
            self._fetching[schema_id] = asyncio.create_task(self._fetch_schema(schema_id))

    async def _fetch_schema(self, schema_id: int) -> None:
        while True:
            try:
                schema = await self.registry.schema(schema_id)
                measurement = f"{schema.get('namespace', '')}.{schema.get('name', '')}".strip(".")
                self._converters[schema_id] = (measurement,
                                               compile_converter(measurement, schema))
                break
            except UnknownSchemaError:
                self._unknown_ids.add(schema_id)
                break
            except RegistryError as err:
                log.warning("schema registry: %s; retrying in %.0f s", err,
                            self.settings.registry_retry)
                await asyncio.sleep(self.settings.registry_retry)
            except (ValueError, TypeError, KeyError) as err:
                log.warning("schema %d cannot be used: %s", schema_id, err)
                self._unknown_ids.add(schema_id)
                break
        del self._fetching[schema_id]
        ready = [tp for tp, wanted in self._awaiting_schema.items() if wanted == schema_id]
        for tp in ready:
            del self._awaiting_schema[tp]
        ready = [tp for tp in ready if tp in self._assigned]
        if ready and self._room.is_set() and self._consumer is not None:
            self._consumer.resume(*ready)

    def _bad(self, topic: str, why: str) -> None:
        self.health.decode_errors += 1
        by_topic = self.health.decode_errors_by_topic
        by_topic[topic] = by_topic.get(topic, 0) + 1
        m.EFD_DECODE_ERRORS.labels(topic).inc()
        if topic not in self._logged_bad_topics:
            self._logged_bad_topics.add(topic)
            log.warning("%s: skipping undecodable message (%s); further ones are only counted",
                        topic, why)

    def _set_paused(self, paused: bool) -> None:
        self.health.paused = paused
        m.EFD_PAUSED.set(int(paused))
        if paused:
            self.consumer.pause(*self._assigned)
            log.warning("buffer full (%d points): reading paused until InfluxDB takes data",
                        self.health.buffered)
        else:
            self.consumer.resume(*(self._assigned - set(self._awaiting_schema)))
            log.info("reading resumed")

    # --- writing --------------------------------------------------------------------------

    async def _write_loop(self) -> None:
        """Cut batches and start their writes, up to `writes_in_flight` at once, so InfluxDB
        parses one batch while the next is decoded and sent; `_commit_loop` ends them."""
        settings = self.settings
        while True:
            if not self._pending:
                self._changed.clear()
                await self._changed.wait()
                continue
            age = time.monotonic() - self._pending[0].received
            if self.health.buffered - self._in_flight < settings.batch_size \
                    and age < settings.flush_interval:
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), settings.flush_interval - age)
                continue
            while len(self._writes) >= settings.writes_in_flight:
                self._write_done.clear()
                await self._write_done.wait()
            chunks = [self._pending.popleft()]
            points = chunks[0].points
            while self._pending and points + self._pending[0].points <= settings.batch_size:
                chunks.append(self._pending.popleft())
                points += chunks[-1].points
            self._in_flight += points
            task = asyncio.create_task(self._write_batch(chunks, points), name="efd-batch")
            self._writes.append((task, chunks, points))
            self._write_started.set()

    async def _commit_loop(self) -> None:
        """Batches end in the order they started: offsets are committed only up to a batch
        InfluxDB took, whatever order the writes finish in."""
        while True:
            if not self._writes:
                self._write_started.clear()
                await self._write_started.wait()
                continue
            task, chunks, points = self._writes[0]
            await task
            self._writes.popleft()
            self._in_flight -= points
            self.health.buffered -= points
            self._write_done.set()
            if not self._room.is_set() and self.health.buffered < self.settings.max_buffer // 2:
                self._room.set()
            await self._commit(chunks)

    async def _write_batch(self, chunks: list[_Chunk], points: int) -> None:
        """Write until InfluxDB takes it (transient errors) or rejects it as invalid."""
        body = "".join(c.text for c in chunks).encode()
        delay = self.settings.retry_min
        started = time.monotonic()
        failures = 0
        while body:
            try:
                dropped = await self.influx.write(body)
            except InfluxError as err:
                self.health.write_errors += 1
                m.EFD_WRITE_ERRORS.inc()
                if not err.transient:
                    log.error("InfluxDB rejected a batch of %d points: %s", points, err)
                    self._count_written(0, points)
                    break
                if failures == 0:
                    log.warning("InfluxDB write failed, retrying with backoff: %s", err)
                failures += 1
                if "database not found" in str(err):
                    await self._try_create_database()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.retry_max)
                continue
            if failures:
                log.warning("InfluxDB write succeeded after %d failures", failures)
            if dropped:
                log.error("InfluxDB dropped %d invalid point(s) of a batch", dropped)
            self._count_written(points - dropped, dropped)
            break
        latency = time.monotonic() - started
        self.health.batch_latency_ms = latency * 1000
        m.EFD_BATCH_SECONDS.observe(latency)

    async def _try_create_database(self) -> None:
        try:
            await self.influx.create_database()
        except InfluxError as err:
            log.warning("cannot create the EFD database: %s", err)

    def _count_written(self, written: int, dropped: int) -> None:
        self.health.points_written += written
        self.health.points_dropped += dropped
        m.EFD_POINTS.inc(written)
        if dropped:
            m.EFD_DROPPED.inc(dropped)

    async def _commit(self, chunks: list[_Chunk]) -> None:
        """Record offsets as written, then commit them (only now: at least once)."""
        for chunk in chunks:
            self._written.update(chunk.offsets)
        offsets = {tp: o for tp, o in self._written.items() if tp in self._assigned}
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, RebalanceInProgressError) as err:
            log.info("the group is rebalancing; offsets are committed after it (%s)", err)
        except KafkaError as err:
            log.warning("committing offsets failed (will be retried with the next batch): %s",
                        err)

    # --- health ---------------------------------------------------------------------------

    def refresh_health(self) -> EfdHealth:
        """Update lag and rates (from the broker's last reported end offsets)."""
        health = self.health
        consumer = self._consumer
        if consumer is not None:
            for tp in self._assigned:
                end = consumer.highwater(tp)
                if end is None:
                    continue
                lag = max(0, end - self._written.get(tp, 0))
                health.lag[tp.topic] = lag
                m.EFD_LAG.labels(tp.topic).set(lag)
        now = time.monotonic()
        self._rate_window.append((now, health.points_written))
        t0, n0 = self._rate_window[0]
        health.points_per_s = (health.points_written - n0) / (now - t0) if now > t0 else 0.0
        m.EFD_BUFFERED.set(health.buffered)
        return health
