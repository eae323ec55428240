"""The supervisor: one process per job that launches the ranks and watches them to the end.

It mirrors each item outcome from the progress stream into the job store as it arrives,
enforces the timeout, honours cancel requests written to the store by any process, and
notices a rank that died when MPI itself does not end the job. It always records a final
status and appends `job_ended` to the stream, so followers never wait forever.
Run detached as `python -m dmcs.mpi.supervisor --store PATH JOB_ID`.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from dmcs.mpi.crash_report import explain_crash, explain_vanished_rank
from dmcs.mpi.job_spec import MPI_LOG_FILE_NAME, PROGRESS_FILE_NAME, JobSpec
from dmcs.mpi.job_store import ItemResult, JobRecord, JobStatus, JobStore
from dmcs.mpi.launch_command import LaunchSettings, build_command, rank_environment
from dmcs.mpi.processes import pid_alive, terminate_tree
from dmcs.mpi.progress import ITEM_OUTCOME_EVENTS, ProgressReader, ProgressTally, ProgressWriter

SUPERVISOR_LOG_FILE_NAME = "supervisor.log"
_POLL_INTERVAL_S = 0.1
RANK_DEATH_GRACE_S = 3.0
KILL_GRACE_S = 3.0


@dataclass
class _Ending:
    status: JobStatus
    error: str | None = None


class Supervisor:
    """Runs one job from `queued` to a terminal status; see the module docstring."""

    def __init__(self, store: JobStore, job_id: str) -> None:
        self._store = store
        self._job = store.get(job_id)
        self._spec = JobSpec(
            job_id=self._job.job_id,
            pipeline=self._job.pipeline,
            config=self._job.config,
            items=self._job.items,
            job_dir=self._job.job_dir,
        )
        self._reader = ProgressReader(self._spec.progress_path)
        self._tally = ProgressTally()
        self._host = socket.gethostname()

    def run(self) -> JobRecord:
        job_id = self._job.job_id
        self._store.set_supervisor(job_id, os.getpid())
        launch = LaunchSettings.from_dict(self._job.launch)
        command = build_command(launch, self._job.ranks, self._spec.write())
        log_path = self._spec.job_dir / MPI_LOG_FILE_NAME
        try:
            with log_path.open("ab") as log:
                process = subprocess.Popen(
                    command,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env=rank_environment(os.environ),
                )
        except OSError as error:
            reason = launch.unavailable_reason() or f"cannot start the ranks: {error}"
            return record_ending(self._store, job_id, JobStatus.FAILED, None, reason)
        self._store.mark_running(job_id, command, process.pid, time.time())
        ending = self._watch(process)
        self._absorb_new_events()
        exit_code = process.returncode
        if ending is None:
            ending = self._ending_from_stream(exit_code, log_path.read_text(errors="replace"))
        return record_ending(self._store, job_id, ending.status, exit_code, ending.error)

    def _watch(self, process: subprocess.Popen[bytes]) -> _Ending | None:
        """Wait for the ranks to end; returns an ending only if the supervisor ended them."""
        timeout_s = self._job.timeout_s
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        first_dead_seen: float | None = None
        while process.poll() is None:
            self._absorb_new_events()
            ending: _Ending | None = None
            if self._store.cancel_requested(self._job.job_id):
                ending = _Ending(JobStatus.CANCELLED, "cancelled by request")
            elif deadline is not None and time.monotonic() > deadline:
                ending = _Ending(JobStatus.TIMEOUT, f"timed out after {timeout_s:g} s")
            elif dead_pids := self._dead_rank_pids():
                first_dead_seen = first_dead_seen or time.monotonic()
                if time.monotonic() - first_dead_seen > RANK_DEATH_GRACE_S:
                    reason = explain_vanished_rank(self._tally, dead_pids[0])
                    ending = _Ending(JobStatus.FAILED, reason)
            if ending is not None:
                terminate_tree(process.pid, KILL_GRACE_S)
                process.wait()
                return ending
            time.sleep(_POLL_INTERVAL_S)
        return None

    def _dead_rank_pids(self) -> list[int]:
        """Local ranks that vanished while items were still outstanding."""
        if self._tally.all_items_reported:
            return []
        return [
            info["pid"]
            for info in self._tally.ranks.values()
            if info["host"] == self._host and not pid_alive(info["pid"])
        ]

    def _absorb_new_events(self) -> None:
        for event in self._reader.read_new():
            self._tally.add(event)
            if event["event"] in ITEM_OUTCOME_EVENTS:
                self._store.record_item(self._job.job_id, ItemResult.from_event(event))
            elif event["event"] == "job_finished":
                self._store.record_summary(self._job.job_id, event["summary"])

    def _ending_from_stream(self, exit_code: int, mpi_log: str) -> _Ending:
        """The ranks ended by themselves: decide from what rank 0 reported."""
        tally = self._tally
        if tally.finished is not None and not tally.failed_items:
            return _Ending(JobStatus.SUCCEEDED)
        if tally.finished is not None:
            failed = ", ".join(tally.failed_items)
            return _Ending(
                JobStatus.FAILED, f"{tally.failed} of {tally.total} items failed: {failed}"
            )
        if tally.job_error is not None:
            return _Ending(JobStatus.FAILED, tally.job_error["error"])
        return _Ending(JobStatus.FAILED, explain_crash(tally, exit_code, mpi_log))


def record_ending(
    store: JobStore, job_id: str, status: JobStatus, exit_code: int | None, error: str | None
) -> JobRecord:
    """Record the final status (unless already recorded) and close the progress stream."""
    if store.finish(job_id, status, exit_code, error, time.time()):
        record = store.get(job_id)
        writer = ProgressWriter(record.job_dir / PROGRESS_FILE_NAME)
        writer.emit("job_ended", status=status.value, exit_code=exit_code, error=error)
        writer.close()
    return store.get(job_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Launch and supervise one dmcs batch job.")
    parser.add_argument("--store", type=Path, required=True, help="job store (SQLite) path")
    parser.add_argument("job_id")
    arguments = parser.parse_args(argv)
    store = JobStore(arguments.store)
    try:
        record = Supervisor(store, arguments.job_id).run()
    except Exception as error:
        traceback.print_exc()
        reason = f"supervisor failed: {type(error).__name__}: {error}"
        record = record_ending(store, arguments.job_id, JobStatus.FAILED, None, reason)
    return 0 if record.status is JobStatus.SUCCEEDED else 1


if __name__ == "__main__":
    sys.exit(main())
