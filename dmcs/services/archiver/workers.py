"""The archiver's worker pool: CCDs of an exposure written in parallel, threads or processes.

Threads are the default: the work is hashing, byte-order conversion, checksums and file I/O,
all of which release the GIL, and a thread costs nothing to start (see docs/archiving.md for
the figures that chose it). Processes are there for a site whose measurements say otherwise;
they start from a fork server, not by forking the CSC's threads. The default number of
workers is the cores this process may use.
"""

from __future__ import annotations

import enum
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor


class WorkerKind(enum.StrEnum):
    THREAD = "thread"
    PROCESS = "process"


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)))


def make_pool(kind: WorkerKind, workers: int) -> Executor:
    if kind is WorkerKind.PROCESS:
        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"))
    return ThreadPoolExecutor(workers, thread_name_prefix="archive-ccd")
