"""JobManager: the asyncio API for batch jobs (submit, follow, wait, cancel, retry).

Used by the `dmcs batch` CLI and, later, the OCPS batch CSC. Every job runs under its own
supervisor process started in a new session, so a job outlives the caller when detached and
can be cancelled from any process that opens the same store. Nothing here blocks the event
loop: planning runs in a thread, waiting and following poll with `asyncio.sleep`.

Retry submits a new job, linked to the original by `retry_of`, that runs only the original's
items that did not succeed (failed, or cut off by a crash, timeout or cancel); the original
record stays as it was, so history is never rewritten.
"""

from __future__ import annotations

import asyncio
import getpass
import platform
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import dmcs
from dmcs.mpi.job_spec import PROGRESS_FILE_NAME
from dmcs.mpi.job_store import (
    ItemResult,
    JobRecord,
    JobRequest,
    JobStatus,
    JobStore,
    default_store_path,
)
from dmcs.mpi.launch_command import LaunchSettings
from dmcs.mpi.processes import pid_alive, terminate_tree
from dmcs.mpi.progress import ITEM_OUTCOME_EVENTS, JOB_ENDED, ProgressReader
from dmcs.mpi.registry import pipeline_class
from dmcs.mpi.supervisor import KILL_GRACE_S, SUPERVISOR_LOG_FILE_NAME, record_ending

_SUPERVISOR_MODULE = "dmcs.mpi.supervisor"
_POLL_INTERVAL_S = 0.2


class JobRequestError(ValueError):
    """The job cannot be submitted as asked (bad config, bad query, nothing to retry)."""


class JobManager:
    """Submits and controls batch jobs recorded in one job store."""

    def __init__(self, store_path: Path | None = None) -> None:
        self.store = JobStore(store_path or default_store_path())
        self._supervisors: dict[str, subprocess.Popen[bytes]] = {}

    async def submit(
        self,
        pipeline: str,
        *,
        data_query: str = "",
        config: dict[str, Any] | None = None,
        ranks: int = 1,
        timeout_s: float | None = None,
        launch: LaunchSettings | None = None,
        provenance: dict[str, Any] | None = None,
    ) -> str:
        """Validate, plan and start a job; returns its id as soon as it is launched.

        Raises UnknownPipelineError, or JobRequestError for a bad config or data query or a
        launcher program (srun, mpiexec) missing here: checking and planning happen here,
        before any rank starts, so mistakes surface at once.
        `provenance` adds to the recorded provenance (e.g. the requester's pipeline version).
        """
        _check_ranks(ranks)
        launch_settings = _available(launch or LaunchSettings())
        job_id = _new_job_id()
        job_config = config or {}
        output_dir = self.store.jobs_root / job_id / "outputs"
        items = await asyncio.to_thread(_plan, pipeline, job_config, data_query, output_dir)
        self._start(
            JobRequest(
                job_id=job_id,
                pipeline=pipeline,
                data_query=data_query,
                config=job_config,
                items=items,
                ranks=ranks,
                launch=launch_settings.to_dict(),
                timeout_s=timeout_s,
                retry_of=None,
                provenance={**(provenance or {}), **_provenance(launch_settings)},
                submitted_at=time.time(),
            )
        )
        return job_id

    async def retry(self, job_id: str, *, ranks: int | None = None) -> str:
        """Start a new job running only the items of `job_id` that did not succeed."""
        original = self.get(job_id)
        if not original.status.is_terminal:
            raise JobRequestError(f"job {job_id} is still {original.status}; retry it once ended")
        items = original.unfinished_items
        if not items:
            raise JobRequestError(f"job {job_id} has no failed or unfinished items to retry")
        retry_ranks = ranks or original.ranks
        _check_ranks(retry_ranks)
        launch_settings = _available(LaunchSettings.from_dict(original.launch))
        new_job_id = _new_job_id()
        output_dir = self.store.jobs_root / new_job_id / "outputs"
        await asyncio.to_thread(_validated_pipeline, original.pipeline, original.config, output_dir)
        self._start(
            replace(
                original.request,
                job_id=new_job_id,
                items=items,
                ranks=retry_ranks,
                retry_of=job_id,
                provenance=_provenance(launch_settings),
                submitted_at=time.time(),
            )
        )
        return new_job_id

    def get(self, job_id: str) -> JobRecord:
        """The job's record; a job whose supervisor vanished is ended on sight.

        Usually milliseconds, but ending an orphaned job waits for its ranks to stop:
        async callers should use `wait`, which runs this in a thread.
        """
        record = self.store.get(job_id)
        if record.status.is_terminal or record.supervisor_pid is None:
            return record
        supervisor = self._supervisors.get(job_id)
        if supervisor is not None:
            supervisor.poll()
        if record.provenance["host"] == socket.gethostname() and not pid_alive(
            record.supervisor_pid
        ):
            self._end_orphaned(record)
            return self.store.get(job_id)
        return record

    def list_jobs(self, limit: int = 50) -> list[JobRecord]:
        return self.store.list_jobs(limit)

    def progress_path(self, job_id: str) -> Path:
        return self.store.get(job_id).job_dir / PROGRESS_FILE_NAME

    async def follow(self, job_id: str) -> AsyncIterator[dict[str, Any]]:
        """Progress events of the job from its start, ending with `job_ended`.

        Checks the job's status between reads, so the stream ends even if the supervisor
        that would have written `job_ended` died.
        """
        reader = ProgressReader(self.progress_path(job_id))
        while True:
            ended = (await asyncio.to_thread(self.get, job_id)).status.is_terminal
            for event in reader.read_new():
                yield event
                if event["event"] == JOB_ENDED:
                    return
            if ended:
                return
            await asyncio.sleep(_POLL_INTERVAL_S)

    async def wait(self, job_id: str, timeout_s: float | None = None) -> JobRecord:
        """Wait until the job reaches a terminal status; TimeoutError if `timeout_s` passes."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not (record := await asyncio.to_thread(self.get, job_id)).status.is_terminal:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {record.status} after {timeout_s} s")
            await asyncio.sleep(_POLL_INTERVAL_S)
        return record

    async def cancel(self, job_id: str) -> JobRecord:
        """Ask the job's supervisor to stop it, and wait until it has; works from any process."""
        record = self.get(job_id)
        if record.status.is_terminal:
            return record
        self.store.request_cancel(job_id)
        return await self.wait(job_id, timeout_s=KILL_GRACE_S + 10)

    def _start(self, request: JobRequest) -> None:
        record = self.store.create(request)
        record.job_dir.mkdir(parents=True, exist_ok=True)
        job_id = record.job_id
        with (record.job_dir / SUPERVISOR_LOG_FILE_NAME).open("ab") as log:
            supervisor = subprocess.Popen(
                [sys.executable, "-m", _SUPERVISOR_MODULE, "--store", str(self.store.path), job_id],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._supervisors[job_id] = supervisor
        self.store.set_supervisor(job_id, supervisor.pid)

    def _end_orphaned(self, record: JobRecord) -> None:
        """Stop the ranks of a job whose supervisor died and keep the results they reported."""
        if record.mpi_pid is not None and pid_alive(record.mpi_pid):
            terminate_tree(record.mpi_pid, KILL_GRACE_S)
        for event in ProgressReader(record.job_dir / PROGRESS_FILE_NAME).read_new():
            if event["event"] in ITEM_OUTCOME_EVENTS:
                self.store.record_item(record.job_id, ItemResult.from_event(event))
        status = JobStatus.CANCELLED if record.cancel_requested else JobStatus.FAILED
        log_path = record.job_dir / SUPERVISOR_LOG_FILE_NAME
        said = _last_line(log_path)
        error = (
            f"supervisor (pid {record.supervisor_pid}) exited without recording a result"
            + (f": {said}" if said else "")
            + f"; see {log_path}"
        )
        record_ending(self.store, record.job_id, status, None, error)


def _last_line(path: Path) -> str:
    """The last thing a dead process wrote to its log (its exception, usually), or ''."""
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except FileNotFoundError:
        return ""
    return lines[-1].strip() if lines else ""


def _available(launch: LaunchSettings) -> LaunchSettings:
    """`launch`, once its program is found here: a missing srun is named before any submit."""
    reason = launch.unavailable_reason()
    if reason is not None:
        raise JobRequestError(reason)
    return launch


def _check_ranks(ranks: int) -> None:
    if ranks < 1:
        raise JobRequestError(f"ranks must be at least 1, got {ranks}")


def _validated_pipeline(pipeline: str, config: dict[str, Any], output_dir: Path) -> Any:
    try:
        return pipeline_class(pipeline)(config, output_dir)
    except ValueError as error:
        raise JobRequestError(f"bad config for {pipeline}: {error}") from error


def _plan(pipeline: str, config: dict[str, Any], data_query: str, output_dir: Path) -> list[str]:
    instance = _validated_pipeline(pipeline, config, output_dir)
    try:
        items: list[str] = instance.plan(data_query)
    except ValueError as error:
        raise JobRequestError(f"bad data query for {pipeline}: {error}") from error
    if not items:
        raise JobRequestError(f"data query {data_query!r} selects no work items")
    return items


def _new_job_id() -> str:
    return f"{time.strftime('%y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def _provenance(launch: LaunchSettings) -> dict[str, Any]:
    return {
        "dmcs_version": dmcs.__version__,
        "host": socket.gethostname(),
        "user": getpass.getuser(),
        "python": platform.python_version(),
        "launcher": launch.launcher.value,
    }
