"""Remote: the commanding side of a component — sends commands, reads events and telemetry."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

from dmcs.async_resource import AsyncResource
from dmcs.sal.controller import component_identity
from dmcs.sal.domain import Domain
from dmcs.sal.interface import Interface, TopicKind
from dmcs.sal.liveness import COMMAND_LIVENESS_SECONDS, heartbeat_age
from dmcs.sal.tai import current_tai
from dmcs.sal.topics.reader import DEFAULT_QUEUE_LEN, TopicReader
from dmcs.sal.topics.reader_group import ReaderGroup
from dmcs.sal.topics.remote_command import AckRouter, RemoteCommand


class Remote(AsyncResource):
    """Talk to one component (index 0 reads every index but cannot command an indexed one).

    ``include`` limits the events/telemetry read (fewer topics to decode); heartbeat is always
    read, because commands use it to notice a CSC that died. A ``listen_only`` Remote sends
    no commands, so it reads neither heartbeats (unless included) nor acks: every topic a
    process reads wakes its consumer, and a listener need not wake at every CSC's heartbeat.
    """

    def __init__(
        self,
        domain: Domain,
        interface: Interface,
        index: int = 0,
        *,
        include: Iterable[str] | None = None,
        queue_len: int = DEFAULT_QUEUE_LEN,
        liveness_timeout: float = COMMAND_LIVENESS_SECONDS,
        listen_only: bool = False,
    ) -> None:
        self.domain = domain
        self.interface = interface
        self.index = index
        self.name = component_identity(interface.name, index)
        self.liveness_timeout = liveness_timeout
        if listen_only and include is None:
            raise ValueError("a listen-only Remote names the topics it reads (include=)")
        wanted = None if include is None else {*include, *(() if listen_only else ["heartbeat"])}
        for name in wanted or ():
            if name not in interface.events and name not in interface.telemetry:
                raise ValueError(f"{interface.name} has no event or telemetry {name!r}")
        self._events = {
            s.name: TopicReader(s, index, history=True, queue_len=queue_len)
            for s in interface.specs(TopicKind.EVENT) if wanted is None or s.name in wanted
        }
        if not listen_only and (include is None or "heartbeat" not in include):
            self._events["heartbeat"].callback = _liveness_only
        self._telemetry = {
            s.name: TopicReader(s, index, history=False, queue_len=queue_len)
            for s in interface.specs(TopicKind.TELEMETRY) if wanted is None or s.name in wanted
        }
        self._commands = {} if listen_only else {
            name: RemoteCommand(self, name) for name in interface.commands}
        self.ack_router = AckRouter(domain.identity, domain.origin)
        ack_readers = [] if listen_only else [
            TopicReader(interface.ack_spec, index, history=False, callback=self.ack_router.on_ack)]
        self._ack_group = ReaderGroup(domain, ack_readers)
        self._group = ReaderGroup(domain, [*self._events.values(), *self._telemetry.values()])
        self._started_at = 0.0

    def evt(self, name: str) -> TopicReader:
        return _lookup(self._events, name, "event", self.interface.name)

    def tel(self, name: str) -> TopicReader:
        return _lookup(self._telemetry, name, "telemetry", self.interface.name)

    def cmd(self, name: str) -> RemoteCommand:
        return _lookup(self._commands, name, "command", self.interface.name)

    async def start(self) -> None:
        await self.domain.ensure_topics(self.interface.specs())
        await asyncio.gather(self._ack_group.start(), self._group.start())
        self._started_at = current_tai()

    async def close(self) -> None:
        await self._group.stop()
        await self._ack_group.stop()

    def expect_acks(self) -> None:
        """A command is waiting: read acks with the short broker wait."""
        self._ack_group.expect_traffic()

    def heartbeat_origin(self) -> int | None:
        """The pid of the process whose heartbeat was heard last (None if none was)."""
        beat: Any = self._events["heartbeat"].get()
        return None if beat is None else int(beat.private_origin)

    def heartbeat_silence(self, since: float, origin: int | None = None) -> str | None:
        """Why the CSC looks dead (no heartbeat for too long), or None if it looks alive.

        `since` is the monotonic time the caller started waiting: a CSC never heard from is
        given `liveness_timeout` from then before being declared absent. With `origin` (the
        pid heard when a command was sent), heartbeats from another process mean the CSC
        was restarted and will never answer that command.
        """
        beat: Any = self._events["heartbeat"].get()
        if origin is not None and beat is not None and beat.private_origin != origin:
            return (f"{self.name} was restarted (pid {origin} -> {beat.private_origin}) "
                    "before answering")
        age = heartbeat_age(beat)
        if age is None:
            waited = time.monotonic() - since
            if waited > self.liveness_timeout:
                return f"{self.name} is not running (no heartbeat seen in {waited:.1f} s)"
            return None
        if age > self.liveness_timeout:
            return f"{self.name} stopped sending heartbeats {age:.1f} s ago"
        return None


def _liveness_only(sample: object) -> None:
    """Heartbeats read only for liveness are kept as latest value, not queued."""


def _lookup(table: dict[str, Any], name: str, kind: str, component: str) -> Any:
    try:
        return table[name]
    except KeyError:
        known = ", ".join(sorted(table))
        raise ValueError(f"{component} {kind} {name!r} is not available; known: {known}") from None
