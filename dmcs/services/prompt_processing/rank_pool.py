"""The warm pool: one long-lived MPI launch whose ranks take work items as they come.

No process starts per visit: the ranks are launched once (mpiexec, a hostfile or srun, as the
batch jobs are), build their pipeline once, and then run whatever items the pool sends them.
The pool hands each item to an idle rank, or to the rank it is pinned to (prompt processing
pins each detector to one rank, so that rank alone holds its calibrations and template); it
watches heartbeats, and treats a rank that closed its connection (dead) or missed
`MISSED_HEARTBEATS_TO_SILENT` heartbeats (silent; it is then killed so it can never report
late) as lost: its items go back to the front of the shared queue for any other rank (an item
that must run on that very rank, such as a preload, fails instead). An item is tried on at
most `max_attempts` ranks.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dmcs.async_resource import AsyncResource
from dmcs.mpi.launch_command import Launcher, LaunchSettings, build_command, rank_environment
from dmcs.mpi.processes import terminate_tree
from dmcs.services.prompt_processing.rank_protocol import (
    MISSED_HEARTBEATS_TO_SILENT,
    RANK_MODULE,
    PoolSpec,
    decode,
    encode,
)

_HYDRA_KEEP_OTHERS_ALIVE = "-disable-auto-cleanup"
_STOP_GRACE_S = 3.0

WorkerCallback = Callable[[int, str, str, str], None]
"""Called as (rank, status, item, reason) when a rank becomes alive, silent or dead."""


class PoolError(RuntimeError):
    """The pool could not start, or an item could not be run."""


class ItemFailedError(PoolError):
    """The pipeline raised on the item; `traceback` is the rank's."""

    def __init__(self, item: str, error: str, traceback: str | None) -> None:
        super().__init__(f"{item}: {error}")
        self.item = item
        self.traceback = traceback


class RanksLostError(PoolError):
    """Every rank the item was given to died or went silent."""


@dataclass
class _Task:
    task_id: int
    item: str
    future: asyncio.Future[dict[str, Any]]
    #: Only this rank may run it (a preload); else any rank, once its own rank is lost.
    strict: bool = False
    attempts: int = 0


@dataclass
class _Rank:
    rank: int
    pid: int
    host: str
    writer: asyncio.StreamWriter
    last_heartbeat: float
    ready: bool = False
    task: _Task | None = None
    pinned: deque[_Task] = field(default_factory=deque)


@dataclass(frozen=True)
class PoolStatus:
    alive: int
    busy: int
    queued: int


class RankPool(AsyncResource):
    """See the module docstring. Use as `async with RankPool(...) as pool: await pool.run(item)`."""

    def __init__(
        self,
        *,
        pipeline: str,
        config: dict[str, Any],
        ranks: int,
        work_dir: Path,
        heartbeat_s: float = 1.0,
        launch: LaunchSettings | None = None,
        listen_host: str = "127.0.0.1",
        max_attempts: int = 2,
        start_timeout_s: float = 60.0,
        on_worker: WorkerCallback | None = None,
    ) -> None:
        if ranks < 1:
            raise PoolError(f"a pool needs at least 1 rank, got {ranks}")
        self.pipeline = pipeline
        self.config = config
        self.size = ranks
        self.work_dir = work_dir
        self.heartbeat_s = heartbeat_s
        self.launch = launch or LaunchSettings()
        self.listen_host = listen_host
        self.max_attempts = max_attempts
        self.start_timeout_s = start_timeout_s
        self.on_worker = on_worker
        self._ranks: dict[int, _Rank] = {}
        self._queue: deque[_Task] = deque()
        self._task_ids = itertools.count(1)
        self._server: asyncio.Server | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._setup_error: str | None = None
        self._ready = asyncio.Event()
        self._closing = False
        self._log = logging.getLogger(f"dmcs.rank_pool.{pipeline}")

    @property
    def pid(self) -> int | None:
        """The launcher's pid (mpiexec or srun)."""
        return self._process.pid if self._process is not None else None

    def rank_pids(self) -> dict[int, int]:
        return {r.rank: r.pid for r in self._ranks.values()}

    def live_ranks(self) -> list[int]:
        """Rank numbers with a worker that set up its pipeline, in order."""
        return sorted(r.rank for r in self._ranks.values() if r.ready)

    def busy_ranks(self) -> dict[int, str]:
        """Which rank runs which item right now."""
        return {r.rank: r.task.item for r in self._ranks.values() if r.task is not None}

    def status(self) -> PoolStatus:
        busy = sum(r.task is not None for r in self._ranks.values())
        pinned = sum(len(r.pinned) for r in self._ranks.values())
        return PoolStatus(alive=len(self._ranks), busy=busy, queued=len(self._queue) + pinned)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None and bool(self._ranks)

    async def start(self) -> None:
        """Launch the ranks and wait until each has set up its pipeline."""
        self._server = await asyncio.start_server(self._serve_rank, self.listen_host, 0)
        port = self._server.sockets[0].getsockname()[1]
        host = socket.gethostname() if self.listen_host == "0.0.0.0" else self.listen_host
        spec = PoolSpec(
            host, port, self.pipeline, self.config, str(self.work_dir / "outputs"), self.heartbeat_s
        )
        spec_path = spec.write(self.work_dir / "pool.json")
        settings = self._launch_settings()
        command = build_command(settings, self.size, spec_path, module=RANK_MODULE)
        log = (self.work_dir / "pool.log").open("ab")
        self._process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            env=rank_environment(os.environ),
        )
        log.close()
        self._watchdog = asyncio.create_task(self._watch())
        try:
            await asyncio.wait_for(self._ready.wait(), self.start_timeout_s)
        except TimeoutError:
            await self.close()
            raise PoolError(
                f"{len(self._ranks)} of {self.size} ranks ready after {self.start_timeout_s:g} s;"
                f" see {self.work_dir / 'pool.log'}"
            ) from None
        if self._setup_error is not None:
            error = self._setup_error
            await self.close()
            raise PoolError(f"pipeline {self.pipeline} setup failed on a rank:\n{error}")

    def _launch_settings(self) -> LaunchSettings:
        if (
            self.launch.launcher is Launcher.SRUN
            or _HYDRA_KEEP_OTHERS_ALIVE in self.launch.extra_args
        ):
            return self.launch
        data = self.launch.to_dict()
        data["extra_args"] = [_HYDRA_KEEP_OTHERS_ALIVE, *self.launch.extra_args]
        return LaunchSettings.from_dict(data)

    async def run(self, item: str, rank: int | None = None) -> dict[str, Any]:
        """Run one item on `rank` (after the items already pinned to it), or on whichever rank
        is free first when `rank` is None or not alive; its result, or an error saying why not.

        Cancelling the caller drops the item: a rank already running it finishes, unheard.
        """
        return await self._submit(item, rank, strict=False)

    async def run_on(self, rank: int, item: str) -> dict[str, Any]:
        """Run `item` on that rank only (e.g. a preload of its detectors); PoolError if lost."""
        return await self._submit(item, rank, strict=True)

    async def run_everywhere(self, item: str) -> dict[int, dict[str, Any] | BaseException]:
        """Run `item` once on every live rank; outcome per rank."""
        ranks = list(self._ranks)
        outcomes = await asyncio.gather(
            *(self.run_on(rank, item) for rank in ranks), return_exceptions=True
        )
        return dict(zip(ranks, outcomes, strict=True))

    async def _submit(self, item: str, rank: int | None, *, strict: bool) -> dict[str, Any]:
        if not self.running:
            raise PoolError("the rank pool is not running")
        owner = self._ranks.get(rank) if rank is not None else None
        if strict and owner is None:
            raise RanksLostError(f"{item}: rank {rank} is not alive")
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        task = _Task(next(self._task_ids), item, future, strict)
        (owner.pinned if owner is not None else self._queue).append(task)
        self._dispatch()
        try:
            return await future
        finally:
            with contextlib.suppress(ValueError):
                self._queue.remove(task)

    def _dispatch(self) -> None:
        for rank in self._ranks.values():
            if not rank.ready or rank.task is not None:
                continue
            task = self._next_task_for(rank)
            if task is None:
                continue
            task.attempts += 1
            rank.task = task
            rank.writer.write(encode({"type": "run", "task": task.task_id, "item": task.item}))

    def _next_task_for(self, rank: _Rank) -> _Task | None:
        for queue in (rank.pinned, self._queue):
            while queue:
                task = queue.popleft()
                if not task.future.done():
                    return task
        return None

    async def _serve_rank(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        rank: _Rank | None = None
        reason = "connection closed"
        try:
            hello = decode(await reader.readline())
            rank = _Rank(hello["rank"], hello["pid"], hello["host"], writer, time.monotonic())
            if (replaced := self._ranks.get(rank.rank)) is not None:
                self._lose(replaced, "dead", f"replaced by a new worker (pid {rank.pid})")
            self._ranks[rank.rank] = rank
            while line := await reader.readline():
                self._handle(rank, decode(line))
        except (ConnectionError, ValueError, KeyError) as error:
            reason = f"bad message or connection: {error}"
        finally:
            if rank is not None and self._ranks.get(rank.rank) is rank and not self._closing:
                self._lose(rank, "dead", reason)
            writer.close()

    def _handle(self, rank: _Rank, message: dict[str, Any]) -> None:
        rank.last_heartbeat = time.monotonic()
        kind = message["type"]
        if kind == "ready":
            rank.ready = True
            self._notify(rank.rank, "alive", "", f"pid {rank.pid} on {rank.host}")
            if sum(r.ready for r in self._ranks.values()) == self.size:  # first start only
                self._ready.set()
        elif kind == "setup_failed":
            self._setup_error = message["error"]
            self._ready.set()
        elif kind == "outcome":
            self._finish(rank, message)
        self._dispatch()

    def _finish(self, rank: _Rank, message: dict[str, Any]) -> None:
        task, rank.task = rank.task, None
        if task is None or task.task_id != message["task"] or task.future.done():
            return
        if message["error"] is None:
            task.future.set_result(message["result"])
        else:
            task.future.set_exception(
                ItemFailedError(task.item, message["error"], message["traceback"])
            )

    def _lose(self, rank: _Rank, status: str, reason: str) -> None:
        """Forget a rank; its items go to the front of the shared queue (or fail, if strict)."""
        del self._ranks[rank.rank]
        task = rank.task
        lost_item = task.item if task is not None else ""
        self._notify(rank.rank, status, lost_item, reason)
        for pinned in reversed(rank.pinned):
            if pinned.strict:
                _fail(pinned, RanksLostError(f"rank {rank.rank} lost before {pinned.item}"))
            elif not pinned.future.done():
                self._queue.appendleft(pinned)
        if task is not None and not task.future.done():
            if not task.strict and task.attempts < self.max_attempts:
                self._queue.appendleft(task)
            else:
                _fail(
                    task,
                    RanksLostError(f"{task.item}: lost with rank {rank.rank} ({status}: {reason})"),
                )
        self._dispatch()

    async def _watch(self) -> None:
        """Notice silent ranks; kill them so a resumed rank can never report twice."""
        limit = MISSED_HEARTBEATS_TO_SILENT * self.heartbeat_s
        woke = time.monotonic()
        while True:
            await asyncio.sleep(self.heartbeat_s / 2)
            now, previous = time.monotonic(), woke
            woke = now
            if now - previous > self.heartbeat_s:
                # Our own event loop stalled: heartbeats may be queued unread. No verdicts.
                for rank in self._ranks.values():
                    rank.last_heartbeat = now
                continue
            for rank in list(self._ranks.values()):
                silent_for = now - rank.last_heartbeat
                if silent_for > limit:
                    reason = f"no heartbeat for {silent_for:.1f} s (limit {limit:g} s)"
                    self._lose(rank, "silent", reason)
                    rank.writer.close()
                    if rank.host == socket.gethostname():
                        with contextlib.suppress(ProcessLookupError, PermissionError):
                            os.kill(rank.pid, signal.SIGKILL)
            if self._process is not None and self._process.returncode is not None:
                ended = f"launcher exited ({self._process.returncode})"
                for rank in list(self._ranks.values()):
                    self._lose(rank, "dead", ended)
                for queued in self._queue:
                    _fail(queued, RanksLostError(f"{queued.item}: no rank left ({ended})"))
                self._queue.clear()

    def _notify(self, rank: int, status: str, item: str, reason: str) -> None:
        self._log.info("rank %d %s %s %s", rank, status, item, reason)
        if self.on_worker is not None:
            self.on_worker(rank, status, item, reason)

    async def close(self) -> None:
        """Stop the ranks (politely, then by force) and the listening socket."""
        self._closing = True
        for rank in list(self._ranks.values()):
            with contextlib.suppress(ConnectionError, RuntimeError):
                rank.writer.write(encode({"type": "stop"}))
        if self._process is not None and self._process.returncode is None:
            try:
                await asyncio.wait_for(self._process.wait(), _STOP_GRACE_S)
            except TimeoutError:
                await asyncio.to_thread(terminate_tree, self._process.pid, _STOP_GRACE_S)
                await self._process.wait()
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        for task in list(self._queue):
            _fail(task, PoolError("the rank pool was closed"))
        self._queue.clear()
        for rank in list(self._ranks.values()):
            rank.writer.close()
            for task in [*rank.pinned, *([rank.task] if rank.task is not None else [])]:
                _fail(task, PoolError("the rank pool was closed"))
        self._ranks.clear()
        if self._server is not None:
            self._server.close()
            self._server = None


def _fail(task: _Task, error: BaseException) -> None:
    if not task.future.done():
        task.future.set_exception(error)
