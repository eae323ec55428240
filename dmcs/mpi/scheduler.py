"""Dynamic scheduling of work items over MPI ranks, with rank 0 working too.

Rank 0's main thread coordinates: it hands the next item to whichever rank reports first,
and records every outcome in the progress stream the moment it arrives. Its own share of
items runs in a second thread that makes no MPI calls, so N ranks are N workers. Nobody
blocks in MPI: ranks poll with short sleeps, because MPICH's blocking calls spin a core that
the science needs on a small machine.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from typing import Any

from mpi4py import MPI

from dmcs.mpi.pipeline import Pipeline
from dmcs.mpi.progress import ProgressWriter

COORDINATOR_RANK = 0
_POLL_INTERVAL_S = 0.002
_TAG_READY = 1
_TAG_RESULT = 2
_TAG_WORK = 3
_TAG_STOP = 4


@dataclass(frozen=True)
class ItemOutcome:
    """What happened to one item on one rank; `result` is None when it failed."""

    item: str
    rank: int
    seconds: float
    result: dict[str, Any] | None = None
    error: str | None = None
    traceback: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.result is not None


def run_item_safely(pipeline: Pipeline, item: str, rank: int) -> ItemOutcome:
    """Run one item, turning an exception into a reported failure instead of a dead job."""
    started = time.monotonic()
    try:
        result = json.loads(json.dumps(pipeline.run_item(item)))
    except Exception as error:
        return ItemOutcome(
            item=item,
            rank=rank,
            seconds=time.monotonic() - started,
            error=f"{type(error).__name__}: {error}",
            traceback=traceback.format_exc(),
        )
    return ItemOutcome(item=item, rank=rank, seconds=time.monotonic() - started, result=result)


def wait_at_barrier(comm: MPI.Comm) -> None:
    """A barrier that sleeps instead of spinning while slower ranks catch up."""
    request = comm.Ibarrier()
    while not request.Test():
        time.sleep(_POLL_INTERVAL_S)


class _LocalWorker:
    """Rank 0's own worker thread: items in, outcomes out, no MPI."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._inbox: queue.Queue[str | None] = queue.Queue()
        self.outbox: queue.Queue[ItemOutcome] = queue.Queue()
        self.busy = False
        self._thread = threading.Thread(
            target=self._serve, args=(pipeline,), name="rank0-worker", daemon=True
        )
        self._thread.start()

    def give(self, item: str) -> None:
        self.busy = True
        self._inbox.put(item)

    def take_outcome(self) -> ItemOutcome | None:
        try:
            outcome = self.outbox.get_nowait()
        except queue.Empty:
            return None
        self.busy = False
        return outcome

    def stop(self) -> None:
        self._inbox.put(None)
        self._thread.join()

    def _serve(self, pipeline: Pipeline) -> None:
        while (item := self._inbox.get()) is not None:
            self.outbox.put(run_item_safely(pipeline, item, COORDINATOR_RANK))


class Coordinator:
    """Rank 0: hands out items first-come first-served and gathers outcomes."""

    def __init__(
        self, comm: MPI.Comm, pipeline: Pipeline, items: list[str], progress: ProgressWriter
    ) -> None:
        self._comm = comm
        self._pending = deque(items)
        self._total = len(items)
        self._progress = progress
        self._local = _LocalWorker(pipeline)
        self._ranks_to_stop = set(range(1, comm.Get_size()))
        self.outcomes: dict[str, ItemOutcome] = {}
        self._failed = 0

    def run(self) -> dict[str, ItemOutcome]:
        while len(self.outcomes) < self._total or self._ranks_to_stop:
            served_local = self._serve_local()
            served_remote = self._serve_remote()
            if not (served_local or served_remote):
                time.sleep(_POLL_INTERVAL_S)
        self._local.stop()
        return self.outcomes

    def _serve_local(self) -> bool:
        outcome = self._local.take_outcome()
        if outcome is not None:
            self._record(outcome)
        if not self._local.busy and self._pending:
            item = self._dispatch(COORDINATOR_RANK)
            self._local.give(item)
            return True
        return outcome is not None

    def _serve_remote(self) -> bool:
        status = MPI.Status()
        if not self._comm.Iprobe(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=status):
            return False
        rank = status.Get_source()
        message = self._comm.recv(source=rank, tag=status.Get_tag())
        if isinstance(message, ItemOutcome):
            self._record(message)
        if self._pending:
            self._comm.send(self._dispatch(rank), dest=rank, tag=_TAG_WORK)
        else:
            self._comm.send(None, dest=rank, tag=_TAG_STOP)
            self._ranks_to_stop.discard(rank)
        return True

    def _dispatch(self, rank: int) -> str:
        item = self._pending.popleft()
        self._progress.emit("item_started", item=item, rank=rank)
        return item

    def _record(self, outcome: ItemOutcome) -> None:
        self.outcomes[outcome.item] = outcome
        self._failed += not outcome.succeeded
        counts = {"done": len(self.outcomes), "failed": self._failed, "total": self._total}
        common = {"item": outcome.item, "rank": outcome.rank, "seconds": outcome.seconds}
        if outcome.succeeded:
            self._progress.emit("item_done", **common, result=outcome.result, **counts)
        else:
            self._progress.emit(
                "item_failed", **common, error=outcome.error, traceback=outcome.traceback, **counts
            )


def serve_items(comm: MPI.Comm, pipeline: Pipeline) -> None:
    """Ranks > 0: ask for work, run it, report, until told to stop."""
    rank = comm.Get_rank()
    comm.send(None, dest=COORDINATOR_RANK, tag=_TAG_READY)
    status = MPI.Status()
    while True:
        while not comm.Iprobe(source=COORDINATOR_RANK, tag=MPI.ANY_TAG, status=status):
            time.sleep(_POLL_INTERVAL_S)
        item = comm.recv(source=COORDINATOR_RANK, tag=status.Get_tag())
        if status.Get_tag() == _TAG_STOP:
            return
        comm.send(run_item_safely(pipeline, item, rank), dest=COORDINATOR_RANK, tag=_TAG_RESULT)
