"""Controller side of commands: receive, authorize, run the handler, acknowledge."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from dmcs.sal.ack import AckCode
from dmcs.sal.domain import Domain
from dmcs.sal.interface import Interface
from dmcs.sal.sample import SalSample
from dmcs.sal.topics.writer import TopicWriter

log = logging.getLogger(__name__)

Handler = Callable[[Any], Awaitable[str | None]]
Authorizer = Callable[[SalSample], bool]
CommandKey = tuple[str, int, int]


class ExpectedError(Exception):
    """A command failed for a reason the operator should read; no traceback is logged."""


def command_key(data: SalSample) -> CommandKey:
    """Who sent a command and which one it was."""
    return (data.private_identity, data.private_origin, data.private_seqNum)


class CommandDispatcher:
    """Runs each received command in its own task and sends its acks.

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

    def on_command(self, name: str, data: SalSample) -> None:
        """Reader callback: start handling one command."""
        self.commands_received += 1
        task = asyncio.create_task(self._handle(name, data))
        key = command_key(data)
        self.running[key] = (name, task)
        task.add_done_callback(lambda _: self.running.pop(key, None))

    async def _handle(self, name: str, data: SalSample) -> None:
        if not self.authorize(data):
            await self.ack(data, name, AckCode.NOPERM,
                           f"{data.private_identity} is not authorized to command "
                           f"{self.ack_writer.identity}")
            return
        handler = self.handlers.get(name)
        if handler is None:
            await self.ack(data, name, AckCode.FAILED, f"command {name} is not implemented")
            return
        try:
            result = await handler(data)
        except asyncio.CancelledError:
            await self.ack(data, name, AckCode.ABORTED, f"{name} aborted")
            return
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
            ack=int(code), error=0 if code >= 0 else int(code), result=result[:1000],
            identity=data.private_identity, origin=data.private_origin,
            cmdtype=self.interface.command_id(name), timeout=timeout,
        )
        await self.ack_writer.write(seq_num=data.private_seqNum)

    def abort(self, sender: SalSample, seq_num: int) -> int:
        """Cancel the sender's command `seq_num`, or every running command (0); return count."""
        own = command_key(sender)
        victims = [
            task for key, (name, task) in self.running.items()
            if key != own and name != "abort"
            and (seq_num == 0 or key == (sender.private_identity, sender.private_origin, seq_num))
        ]
        for task in victims:
            task.cancel()
        return len(victims)
