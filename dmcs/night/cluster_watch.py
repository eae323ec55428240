"""What a night on a Kafka cluster (`dmcs night --brokers 3`) saw of the cluster: leaders
moving, what the clients logged, how long commands took while a node was lost.

Every half second it asks the cluster who leads each command topic of the night; every second
it sends the DMCS a `setLogLevel` and times the round trip to its final ack (so a command held
up by a failover shows as a long round trip, a lost one as a failure). A drill marks its window
with ``async with watch.drill(name)``; the report gives each drill's leader changes, the
client warnings logged (aiokafka's retries: "not leader", lost connections, timeouts) and the
longest round trip from the drill's start until `SETTLE_S` after its end (or the next drill's
start).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition
from aiokafka.client import AIOKafkaClient

from dmcs.sal.ack import AckError
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import DMCS
from dmcs.sal.remote import Remote

log = logging.getLogger(__name__)

LEADER_POLL_S = 0.5
PROBE_INTERVAL_S = 1.0
#: A probe command may wait out a whole failover (a frozen leader holds a write this long).
PROBE_TIMEOUT_S = 120.0
#: After a drill's end, how long its effects are still counted as its own.
SETTLE_S = 10.0
_METADATA_TIMEOUT_MS = 3000


@dataclass
class _Drill:
    name: str
    started: float
    ended: float | None = None


@dataclass
class _Seen:
    """Everything the watch saw, each with its monotonic time."""

    leader_moves: list[tuple[float, str, int, int]] = field(default_factory=list)
    client_warnings: list[tuple[float, str]] = field(default_factory=list)
    round_trips: list[tuple[float, float, bool]] = field(default_factory=list)


class ClusterWatch:
    """Watches the night's cluster; ``start()``, ``start_probe()``, ``close()``, ``summary()``."""

    def __init__(self, domain: Domain, bootstrap_servers: str, brokers: int,
                 client_options: Mapping[str, Any] | None = None) -> None:
        self.domain = domain
        self.bootstrap_servers = bootstrap_servers
        self.brokers = brokers
        self._client_options = dict(client_options or {})
        self._prefix = f"lsst.{domain.subname}."
        self._leaders: dict[str, int] = {}
        self.seen = _Seen()
        self.drills: list[_Drill] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._client: AIOKafkaClient | None = None
        self._remote: Remote | None = None
        self._handler = _ClientWarnings(self.seen)
        self._aiokafka_level = logging.NOTSET

    async def start(self) -> None:
        """Watch the leaders, and hear what the night's own Kafka clients log (WARNING+)."""
        aiokafka = logging.getLogger("aiokafka")
        self._aiokafka_level = aiokafka.level
        aiokafka.setLevel(logging.WARNING)
        aiokafka.addHandler(self._handler)
        self._client = AIOKafkaClient(bootstrap_servers=self.bootstrap_servers,
                                      request_timeout_ms=_METADATA_TIMEOUT_MS,
                                      **self._client_options)
        await self._client.bootstrap()
        self._tasks.append(asyncio.create_task(self._watch_leaders(), name="leaders"))

    async def start_probe(self) -> None:
        """Time a command to the DMCS every second (once every CSC is up).

        The probe waits for the final ack itself (up to PROBE_TIMEOUT_S) rather than judging
        the DMCS by its heartbeats: during a failover both are held up alike, and what the
        probe measures is how long a command took, not whether a script would give up.
        """
        self._remote = Remote(self.domain, DMCS, 0, include=[],
                              liveness_timeout=PROBE_TIMEOUT_S)
        await self._remote.start()
        self._tasks.append(asyncio.create_task(self._probe(), name="probe"))

    async def stop_probe(self) -> None:
        """Stop commanding (before the night comes down), let the last command finish."""
        probes = [t for t in self._tasks if t.get_name() == "probe"]
        for task in probes:
            task.cancel()
        await asyncio.gather(*probes, return_exceptions=True)
        self._tasks = [t for t in self._tasks if t not in probes]
        if self._remote is not None:
            await self._remote.close()
            self._remote = None

    async def close(self) -> None:
        await self.stop_probe()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._client is not None:
            await self._client.close()
            self._client = None
        aiokafka = logging.getLogger("aiokafka")
        aiokafka.removeHandler(self._handler)
        aiokafka.setLevel(self._aiokafka_level)

    @contextlib.asynccontextmanager
    async def drill(self, name: str) -> AsyncIterator[None]:
        """Mark a drill's window (from losing something to having it back)."""
        drill = _Drill(name, time.monotonic())
        self.drills.append(drill)
        log.warning("drill %s: started", name)
        try:
            yield
        finally:
            drill.ended = time.monotonic()
            log.warning("drill %s: over after %.1f s", name, drill.ended - drill.started)

    # --- watching ------------------------------------------------------------------------

    async def _watch_leaders(self) -> None:
        assert self._client is not None
        while True:
            try:
                metadata = await self._client.fetch_all_metadata()
            except Exception as err:  # a node that just died may answer nothing: ask again
                log.debug("cluster metadata: %r", err)
            else:
                now = time.monotonic()
                for topic in metadata.topics():
                    if not topic.startswith(self._prefix) or ".command_" not in topic:
                        continue
                    leader = metadata.leader_for_partition(TopicPartition(topic, 0))
                    if leader is None:
                        continue
                    before = self._leaders.get(topic)
                    if before is not None and before != leader:
                        self.seen.leader_moves.append((now, topic, before, leader))
                    self._leaders[topic] = leader
            await asyncio.sleep(LEADER_POLL_S)

    def leader_of_most_command_topics(self) -> int:
        """The node leading the most command topics now (the one a drill should lose)."""
        counts: dict[int, int] = {}
        for leader in self._leaders.values():
            counts[leader] = counts.get(leader, 0) + 1
        if not counts:
            raise RuntimeError("no command topic's leader known yet")
        return max(counts, key=lambda node: counts[node])

    async def _probe(self) -> None:
        assert self._remote is not None
        command = self._remote.cmd("setLogLevel")
        while True:
            sent = time.monotonic()
            ok = True
            try:
                await command.start(level=logging.INFO, timeout=PROBE_TIMEOUT_S)
            except AckError as err:
                ok = False
                log.warning("probe command to the DMCS failed: %s", err)
            self.seen.round_trips.append((sent, time.monotonic() - sent, ok))
            await asyncio.sleep(PROBE_INTERVAL_S)

    # --- the report ----------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """The report's `cluster` section."""
        seen = self.seen
        trips = [rtt for _, rtt, _ in seen.round_trips]
        return {
            "brokers": self.brokers,
            "leader_changes": len(seen.leader_moves),
            "probe_commands": len(trips),
            "probe_failed": sum(not ok for _, _, ok in seen.round_trips),
            "longest_command_s": round(max(trips, default=0.0), 3),
            "client_warnings": len(seen.client_warnings),
            "drills": [self._drill_summary(d, self._next_start(i))
                       for i, d in enumerate(self.drills)],
        }

    def _next_start(self, i: int) -> float | None:
        return self.drills[i + 1].started if i + 1 < len(self.drills) else None

    def _drill_summary(self, drill: _Drill, next_started: float | None) -> dict[str, Any]:
        """What happened from the drill's start until SETTLE_S after its end (or until the
        next drill began, so no command is counted twice)."""
        seen = self.seen
        end = (drill.ended if drill.ended is not None else time.monotonic()) + SETTLE_S
        if next_started is not None:
            end = min(end, next_started)

        def within(at: float) -> bool:
            return drill.started <= at <= end

        moves = [m for m in seen.leader_moves if within(m[0])]
        trips = [(rtt, ok) for at, rtt, ok in seen.round_trips if within(at)]
        warnings = [text for at, text in seen.client_warnings if within(at)]
        return {
            "name": drill.name,
            "seconds": round((drill.ended or time.monotonic()) - drill.started, 1),
            "leader_changes": len(moves),
            "new_leaders": sorted({new for _, _, _, new in moves}),
            "client_retries": len(warnings),
            "client_log": _tally(warnings),
            "commands": len(trips),
            "commands_failed": sum(not ok for _, ok in trips),
            "longest_command_s": round(max((rtt for rtt, _ in trips), default=0.0), 3),
        }


def _tally(messages: list[str]) -> dict[str, int]:
    """Each distinct message (digits blanked, so node ids and offsets do not split it)."""
    counts: dict[str, int] = {}
    for message in messages:
        key = "".join("#" if c.isdigit() else c for c in message)[:120]
        counts[key] = counts.get(key, 0) + 1
    return counts


class _ClientWarnings(logging.Handler):
    """aiokafka's WARNING+ records in this process, with the time they came."""

    def __init__(self, seen: _Seen) -> None:
        super().__init__(logging.WARNING)
        self.seen = seen

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.client_warnings.append((time.monotonic(), record.getMessage()))
