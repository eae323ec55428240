"""Remote side of commands: send, then follow acks to the final one."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from dmcs.sal.ack import AckCmdModel, AckCode, AckError
from dmcs.sal.domain import Domain
from dmcs.sal.interface import Interface, TopicKind
from dmcs.sal.topics.writer import TopicWriter

log = logging.getLogger(__name__)

DEFAULT_COMMAND_TIMEOUT = 10.0
LIVENESS_POLL = 0.25
#: How long after a command is sent, or after its last ack, acks are read with the short
#: broker wait (Tansu). A command under way for minutes (an INPROGRESS job) would otherwise
#: keep its process fetching every few ms the whole time; after this its final ack may come
#: up to one idle wait late.
EXPECT_ACKS_S = 2.0

AckCallback = Callable[[AckCmdModel], None]


class CommandTarget(Protocol):
    """What a command needs of the Remote that sends it (a Remote is one)."""

    domain: Domain
    interface: Interface
    index: int
    name: str
    ack_router: AckRouter

    def expect_acks(self) -> None: ...

    def heartbeat_origin(self) -> int | None: ...

    def heartbeat_silence(self, since: float, origin: int | None = None) -> str | None: ...

    def cmd(self, name: str) -> RemoteCommand: ...


class AckRouter:
    """Hands acks addressed to this process to the command waiting for them."""

    def __init__(self, identity: str, origin: int) -> None:
        self.identity = identity
        self.origin = origin
        self._waiting: dict[int, asyncio.Queue[AckCmdModel]] = {}

    def register(self, seq_num: int) -> asyncio.Queue[AckCmdModel]:
        queue: asyncio.Queue[AckCmdModel] = asyncio.Queue()
        self._waiting[seq_num] = queue
        return queue

    def unregister(self, seq_num: int) -> None:
        self._waiting.pop(seq_num, None)

    def on_ack(self, ack: AckCmdModel) -> None:
        if ack.identity != self.identity or ack.origin != self.origin:
            return
        queue = self._waiting.get(ack.private_seqNum)
        if queue is not None:
            queue.put_nowait(ack)


class RemoteCommand:
    """One command of a remote component.

    ``await start(**fields)`` returns the COMPLETE ack or raises AckError carrying the final
    ack: FAILED/NOPERM/ABORTED from the CSC, TIMEOUT when the (INPROGRESS-extended) deadline
    passes, NOACK when nothing answered or the CSC stopped sending heartbeats.
    Cancelling the caller asks the CSC to abort the command.
    """

    def __init__(self, remote: CommandTarget, name: str) -> None:
        self.remote = remote
        self.name = name
        self.spec = remote.interface.spec(TopicKind.COMMAND, name)
        self._writer = TopicWriter(remote.domain, self.spec, remote.index, remote.domain.identity)
        self._aborts: set[asyncio.Future[None]] = set()

    async def start(
        self,
        *,
        timeout: float = DEFAULT_COMMAND_TIMEOUT,
        wait_done: bool = True,
        on_ack: AckCallback | None = None,
        **fields: Any,
    ) -> AckCmdModel:
        remote = self.remote
        if remote.interface.indexed and remote.index == 0:
            raise ValueError(f"{remote.interface.name} is indexed: give the index to command")
        self._writer.replace(**fields)
        seq_num = remote.domain.next_seq_num()
        queue = remote.ack_router.register(seq_num)
        remote.expect_acks()
        try:
            await self._writer.write(seq_num=seq_num, delivered=True)  # refused: raised here
            return await self._follow_acks(seq_num, queue, timeout, wait_done, on_ack)
        except asyncio.CancelledError:
            abort = asyncio.ensure_future(self._send_abort(seq_num))
            self._aborts.add(abort)
            abort.add_done_callback(self._aborts.discard)
            raise
        finally:
            remote.ack_router.unregister(seq_num)

    async def _follow_acks(
        self,
        seq_num: int,
        queue: asyncio.Queue[AckCmdModel],
        timeout: float,
        wait_done: bool,
        on_ack: AckCallback | None,
    ) -> AckCmdModel:
        sent_at = time.monotonic()
        origin = self.remote.heartbeat_origin()
        deadline = sent_at + timeout
        last: AckCmdModel | None = None
        heard_at = sent_at
        while True:
            now = time.monotonic()
            if now >= deadline:
                code = AckCode.NOACK if last is None else AckCode.TIMEOUT
                return self._finish(self._local_ack(seq_num, code,
                                    f"no final ack within {timeout:.1f} s"), on_ack)
            silent = self.remote.heartbeat_silence(since=sent_at, origin=origin)
            if silent is not None:
                return self._finish(self._local_ack(seq_num, AckCode.NOACK, silent), on_ack)
            try:
                ack = await asyncio.wait_for(queue.get(), min(LIVENESS_POLL, deadline - now))
            except TimeoutError:
                if time.monotonic() - heard_at < EXPECT_ACKS_S:
                    self.remote.expect_acks()
                continue
            last, heard_at = ack, time.monotonic()
            code = AckCode(ack.ack)
            if code.is_final:
                return self._finish(ack, on_ack)
            if on_ack is not None:
                on_ack(ack)
            if not wait_done:
                return ack
            if code is AckCode.INPROGRESS and ack.timeout > 0:
                deadline = max(deadline, time.monotonic() + ack.timeout)

    def _finish(self, ack: AckCmdModel, on_ack: AckCallback | None) -> AckCmdModel:
        if on_ack is not None:
            on_ack(ack)
        if AckCode(ack.ack) is not AckCode.COMPLETE:
            raise AckError(self.name, ack)
        return ack

    def _local_ack(self, seq_num: int, code: AckCode, result: str) -> AckCmdModel:
        return AckCmdModel(
            ack=int(code), error=1, result=result,
            identity=self.remote.domain.identity, origin=self.remote.domain.origin,
            cmdtype=self.remote.interface.command_id(self.name), private_seqNum=seq_num,
            salIndex=self.remote.index,
        )

    async def _send_abort(self, seq_num: int) -> None:
        try:
            await self.remote.cmd("abort").send_no_wait()
        except Exception as err:
            log.warning("could not ask %s to abort %s: %s", self.remote.name, self.name, err)

    async def send_no_wait(self, **fields: Any) -> None:
        """Send without following acks (used for abort requests)."""
        self._writer.replace(**fields)
        await self._writer.write(seq_num=self.remote.domain.next_seq_num())
