"""Controller: the CSC side of a component — reads its commands, writes events and telemetry."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from dmcs.sal.ack import AckCode
from dmcs.sal.domain import Domain
from dmcs.sal.interface import Interface, TopicKind
from dmcs.sal.liveness import HEARTBEAT_ALIVE_SECONDS, heartbeat_age
from dmcs.sal.sample import SalSample
from dmcs.sal.tai import current_tai
from dmcs.sal.topics.controller_command import CommandDispatcher, Handler
from dmcs.sal.topics.reader import TopicReader
from dmcs.sal.topics.reader_group import ReaderGroup
from dmcs.sal.topics.writer import TopicWriter
from dmcs.state_machines.summary_state import State

#: How long a starting CSC listens for a twin after claiming its identity (> 1 heartbeat).
CLAIM_SECONDS = 1.2
#: How often a starting CSC looks again at a predecessor that may have died.
SILENCE_POLL_SECONDS = 0.25


class DuplicateInstanceError(RuntimeError):
    """Another process already runs this component and index."""


def component_identity(name: str, index: int) -> str:
    """`Name` or `Name:index`, how a CSC identifies itself."""
    return f"{name}:{index}" if index else name


class Controller:
    """Everything a CSC needs on the wire; the service logic lives elsewhere.

    Writers are ``evt(name)`` / ``tel(name)``; command handlers are registered with
    ``set_handler``. ``start`` refuses to run if the same component and index is alive.
    """

    def __init__(
        self,
        domain: Domain,
        interface: Interface,
        index: int = 0,
    ) -> None:
        if index and not interface.indexed:
            raise ValueError(f"{interface.name} is not indexed; do not give an index")
        if interface.indexed and index <= 0:
            raise ValueError(f"{interface.name} is indexed; give an index > 0")
        self.domain = domain
        self.interface = interface
        self.index = index
        self.identity = component_identity(interface.name, index)
        self._events = {s.name: TopicWriter(domain, s, index, self.identity)
                        for s in interface.specs(TopicKind.EVENT)}
        self._telemetry = {s.name: TopicWriter(domain, s, index, self.identity)
                           for s in interface.specs(TopicKind.TELEMETRY)}
        self.dispatcher = CommandDispatcher(domain, interface, index, self.identity)
        self._command_readers = [
            TopicReader(s, index, history=False,
                        callback=functools.partial(self.dispatcher.on_command, s.name))
            for s in interface.specs(TopicKind.COMMAND)
        ]
        self._commands = ReaderGroup(domain, self._command_readers)

    def evt(self, name: str) -> TopicWriter:
        return self._writer(self._events, TopicKind.EVENT, name)

    def tel(self, name: str) -> TopicWriter:
        return self._writer(self._telemetry, TopicKind.TELEMETRY, name)

    def _writer(self, table: dict[str, TopicWriter], kind: TopicKind, name: str) -> TopicWriter:
        try:
            return table[name]
        except KeyError:
            self.interface.spec(kind, name)
            raise

    def set_handler(self, name: str, handler: Handler) -> None:
        self.interface.spec(TopicKind.COMMAND, name)
        self.dispatcher.handlers[name] = handler

    @property
    def malformed_commands(self) -> int:
        """Command messages that could not be decoded (logged and skipped)."""
        return sum(r.malformed for r in self._command_readers)

    async def ack_in_progress(self, data: SalSample, timeout: float, result: str = "") -> None:
        """Tell the caller the command runs and may take `timeout` seconds more."""
        name = self._command_name(data)
        await self.dispatcher.ack(data, name, AckCode.INPROGRESS, result, timeout)

    def _command_name(self, data: SalSample) -> str:
        for name, model in self.interface.commands.items():
            if type(data) is model:
                return name
        raise ValueError(f"{type(data).__name__} is not a command of {self.interface.name}")

    async def start(self, claim_seconds: float = CLAIM_SECONDS) -> None:
        """Create our topics, claim our identity (else DuplicateInstanceError), read commands."""
        await self.domain.ensure_topics(self.interface.specs())
        await self._claim_identity(claim_seconds)
        self.domain.watch_topic(self._events["heartbeat"].kafka_topic)
        await self._commands.start()

    async def close(self) -> None:
        """Stop reading commands, cancel those still running, flush what was written."""
        await self._commands.stop()
        running = [task for _, task in self.dispatcher.running.values()]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        writers = (*self._events.values(), *self._telemetry.values(), self.dispatcher.ack_writer)
        for writer in writers:
            await writer.flush()

    async def _claim_identity(self, claim_seconds: float) -> None:
        """Refuse to run if another process runs this component and index.

        A live heartbeat already on the broker means it is taken. Two processes starting at
        the same instant see none, so each writes a claim (a heartbeat) and listens for
        `claim_seconds` (more than a heartbeat period): the claimant whose first heartbeat is
        the earliest (then the lowest pid) wins, and every other claimant exits. A claim
        written after another's listener started is seen by it, one written before shows
        in its history: each judges the same first heartbeats, so exactly one survives.
        A predecessor that said OFFLINE (a clean exit) is gone at once: a restart right
        after `exitControl` or SIGTERM is not refused. One whose heartbeat is recent but
        that said nothing (SIGKILL, a crash) is watched until it beats again (a twin: refused)
        or falls silent for `HEARTBEAT_ALIVE_SECONDS` (dead: a supervisor's restart goes on).
        """
        seen: list[Any] = []
        gone: set[int] = set()
        listener = ReaderGroup(self.domain, [
            TopicReader(self.interface.spec(TopicKind.EVENT, "heartbeat"), self.index,
                        history=True, callback=seen.append),
            TopicReader(self.interface.spec(TopicKind.EVENT, "summaryState"), self.index,
                        history=True, callback=lambda s: _note_offline(s, gone)),
        ])
        listening_since = current_tai()
        await listener.start()
        try:
            await self._refuse_if_alive(seen, gone, listening_since)
            ours = self._events["heartbeat"]
            await ours.set_write(heartbeat=True)
            await ours.flush()
            claimed_at = ours.data.private_sndStamp
            await asyncio.sleep(claim_seconds)
        finally:
            await listener.stop()
        first_seen: dict[int, float] = {}
        for beat in seen:
            origin = beat.private_origin
            recent = beat.private_sndStamp >= listening_since - HEARTBEAT_ALIVE_SECONDS
            if origin != self.domain.origin and origin not in gone and recent:
                first_seen[origin] = min(first_seen.get(origin, beat.private_sndStamp),
                                         beat.private_sndStamp)
        winner = min([(claimed_at, self.domain.origin),
                      *((stamp, origin) for origin, stamp in first_seen.items())])
        if winner[1] != self.domain.origin:
            raise DuplicateInstanceError(
                f"{self.identity} was started twice at once; pid {winner[1]} claimed it first"
            )

    async def _refuse_if_alive(self, seen: list[Any], gone: set[int],
                               listening_since: float) -> None:
        """Raise if a process that has not said OFFLINE still beats; mark it gone if it died."""
        while True:
            beat = next((b for b in reversed(seen) if b.private_origin != self.domain.origin
                         and b.private_origin not in gone), None)
            if beat is None:
                return
            age = heartbeat_age(beat) or 0.0
            if age >= HEARTBEAT_ALIVE_SECONDS:
                gone.add(beat.private_origin)
            elif beat.private_sndStamp >= listening_since:
                raise DuplicateInstanceError(
                    f"{self.identity} is already running (pid {beat.private_origin}, "
                    f"last heartbeat {age:.1f} s ago); stop it first"
                )
            else:
                await asyncio.sleep(min(HEARTBEAT_ALIVE_SECONDS - age, SILENCE_POLL_SECONDS))


def _note_offline(sample: Any, gone: set[int]) -> None:
    """A process that published summaryState OFFLINE has stopped (a clean exit)."""
    if sample.summaryState == State.OFFLINE:
        gone.add(sample.private_origin)
