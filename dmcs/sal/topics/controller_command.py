"""Controller side of commands: receive, authorize, run the handler, acknowledge."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from dmcs import metrics
from dmcs.sal.ack import AckCode
from dmcs.sal.domain import Domain
from dmcs.sal.interface import Interface
from dmcs.sal.sample import SalSample
from dmcs.sal.topics.writer import TopicWriter

log = logging.getLogger(__name__)

Handler = Callable[[Any], Awaitable[str | None]]
Authorizer = Callable[[SalSample], bool]
CommandKey = tuple[str, int, int]
#: How many command keys are remembered to drop re-reads (after a log is read again).
RECENT_COMMANDS = 4096


class ExpectedError(Exception):
    """A command failed for a reason the operator should read; no traceback is logged."""


def command_key(data: SalSample) -> CommandKey:
    """Who sent a command and which one it was."""
    return (data.private_identity, data.private_origin, data.private_seqNum)


class CommandDispatcher:
    """Runs each received command in its own task and sends its acks.

    Commands of one topic run in the order received, one at a time (as salobj does), while
    other topics go on: a long command reports INPROGRESS and blocks only its own topic.
    A handler returns an optional result text (COMPLETE), raises ExpectedError or any
    exception (FAILED with the reason), or is cancelled by `abort` (ABORTED).
    """

    def __init__(self, domain: Domain, interface: Interface, index: int, identity: str) -> None:
        self.interface = interface
        self.index = index
        self.handlers: dict[str, Handler] = {}
        self.authorize: Authorizer = lambda data: True
        self.ack_writer = TopicWriter(domain, interface.ack_spec, index, identity)
        self.running: dict[CommandKey, tuple[str, asyncio.Task[None]]] = {}
        self.commands_received = 0
        self._topic_locks: dict[str, asyncio.Lock] = {}
        self._recent: OrderedDict[CommandKey, None] = OrderedDict()
        # Every (command, final ack) series exists from the start, at 0: a fresh CSC's panels
        # show 0, not "No data".
        for command in interface.commands:
            for code in AckCode:
                if code.is_final:
                    metrics.COMMANDS.labels(interface.name, str(index), command, code.name)

    def on_command(self, name: str, data: SalSample) -> None:
        """Reader callback: start handling one command (a command read twice runs once)."""
        key = command_key(data)
        if key in self._recent:
            log.warning("%s from %s (seq %d) read again; ignored", name, key[0], key[2])
            metrics.COMMANDS_IGNORED.labels(self.interface.name, str(self.index)).inc()
            return
        self._recent[key] = None
        if len(self._recent) > RECENT_COMMANDS:
            self._recent.popitem(last=False)
        self.commands_received += 1
        task = asyncio.create_task(self._handle(name, data))
        self.running[key] = (name, task)
        task.add_done_callback(lambda _: self.running.pop(key, None))

    async def _handle(self, name: str, data: SalSample) -> None:
        if not self.authorize(data):
            await self.ack(data, name, AckCode.NOPERM,
                           f"{data.private_identity} is not authorized to command "
                           f"{self.ack_writer.identity}")
            return
        lock = self._topic_locks.setdefault(name, asyncio.Lock())
        began = time.perf_counter()
        try:
            async with lock:
                await self._run(name, data)
        except asyncio.CancelledError:
            await self.ack(data, name, AckCode.ABORTED, f"{name} aborted")
        labels = (self.interface.name, str(self.index), name)
        metrics.COMMAND_DURATION.labels(*labels).observe(time.perf_counter() - began)

    async def _run(self, name: str, data: SalSample) -> None:
        handler = self.handlers.get(name)
        if handler is None:
            await self.ack(data, name, AckCode.FAILED, f"command {name} is not implemented")
            return
        try:
            result = await handler(data)
        except ExpectedError as err:
            log.warning("%s failed: %s", name, err)
            await self.ack(data, name, AckCode.FAILED, str(err))
            return
        except Exception as err:
            log.exception("%s failed", name)
            await self.ack(data, name, AckCode.FAILED, f"{type(err).__name__}: {err}")
            return
        await self.ack(data, name, AckCode.COMPLETE, result or "Done")

    async def ack(
        self, data: SalSample, name: str, code: AckCode, result: str = "", timeout: float = 0.0
    ) -> None:
        """Send one ack for `data` to its sender."""
        self.ack_writer.set(
            ack=int(code), error=0 if code >= 0 else 1, result=result[:1000],
            identity=data.private_identity, origin=data.private_origin,
            cmdtype=self.interface.command_id(name), timeout=timeout,
        )
        await self.ack_writer.write(seq_num=data.private_seqNum)
        if code.is_final:
            metrics.COMMANDS.labels(self.interface.name, str(self.index), name, code.name).inc()

    def abort(self, keep: frozenset[str] = frozenset()) -> int:
        """Cancel every running or queued command but `abort` and those in `keep`; return count."""
        victims = [
            task for name, task in self.running.values()
            if name != "abort" and name not in keep
        ]
        for task in victims:
            task.cancel()
        return len(victims)
