"""Failures made to happen for real: a raising item, a SIGKILLed rank, a hung launcher,
a timeout and a cancel from another process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mpi_job_inspection import item_values, live_rank_pids, progress_events

from dmcs.mpi.job_store import JobStatus
from dmcs.mpi.jobs import JobManager
from dmcs.mpi.processes import descendants, pid_alive

DMCS = str(Path(sys.executable).parent / "dmcs")


async def test_failed_item_is_listed_others_finish_and_retry_runs_only_it(
    manager: JobManager, tmp_path: Path
) -> None:
    config = {"fail_once_items": ["item-002"], "marker_dir": str(tmp_path / "markers")}
    job_id = await manager.submit("selftest", data_query="count=6", config=config, ranks=2)
    record = await manager.wait(job_id, timeout_s=30)

    assert record.status is JobStatus.FAILED
    assert record.failed_items == ["item-002"]
    failure = record.item_results["item-002"]
    assert failure.error == "RuntimeError: selftest item item-002 failed on its first attempt"
    assert failure.traceback is not None
    assert "in run_item" in failure.traceback
    assert sorted(item_values(record)) == [
        "item-000",
        "item-001",
        "item-003",
        "item-004",
        "item-005",
    ]
    assert record.error == "1 of 6 items failed: item-002"

    retry_id = await manager.retry(job_id)
    retried = await manager.wait(retry_id, timeout_s=30)

    assert retried.status is JobStatus.SUCCEEDED
    assert retried.retry_of == job_id
    assert retried.items == ["item-002"]
    assert list(retried.item_results) == ["item-002"]
    assert manager.get(job_id).status is JobStatus.FAILED, "the original record is kept as it was"


async def test_sigkilled_rank_ends_the_job_quickly_and_keeps_earlier_results(
    manager: JobManager,
) -> None:
    config = {"sleep_s": 0.3, "kill_items": ["item-004"]}
    started = time.monotonic()
    job_id = await manager.submit("selftest", data_query="count=8", config=config, ranks=2)
    record = await manager.wait(job_id, timeout_s=20)

    assert time.monotonic() - started < 15
    assert record.status is JobStatus.FAILED
    assert record.error is not None
    assert "signal 9" in record.error
    assert "item-004 (rank" in record.error
    assert len(item_values(record)) >= 2
    assert all(Path(output).exists() for output in record.outputs)
    assert live_rank_pids(record) == []
    assert progress_events(record)[-1]["event"] == "job_ended"
    assert sorted(record.unfinished_items) == sorted(set(record.items) - set(item_values(record)))


async def test_rank_vanishing_under_a_hung_launcher_is_stopped_by_the_supervisor(
    manager: JobManager,
) -> None:
    job_id = await manager.submit(
        "selftest", data_query="count=30", config={"sleep_s": 0.3}, ranks=2
    )
    async for event in manager.follow(job_id):
        if event["event"] == "item_done":
            break
    record = manager.get(job_id)
    mpiexec = record.mpi_pid
    assert mpiexec is not None
    proxy = next(
        pid
        for pid in descendants(mpiexec)
        if b"hydra_pmi_proxy" in Path(f"/proc/{pid}/cmdline").read_bytes()
    )
    rank_1 = next(
        e["pid"] for e in progress_events(record) if e["event"] == "rank_started" and e["rank"] == 1
    )
    os.kill(proxy, signal.SIGSTOP)
    os.kill(rank_1, signal.SIGKILL)
    record = await manager.wait(job_id, timeout_s=20)

    assert record.status is JobStatus.FAILED
    assert record.error is not None
    assert f"rank 1 (pid {rank_1}" in record.error
    assert "MPI did not end the job, so the supervisor stopped it" in record.error
    assert item_values(record)
    assert not any(pid_alive(pid) for pid in (proxy, mpiexec))


async def test_timeout_stops_the_job_and_records_timeout(manager: JobManager) -> None:
    started = time.monotonic()
    job_id = await manager.submit(
        "selftest", data_query="count=20", config={"sleep_s": 1.0}, ranks=2, timeout_s=3.5
    )
    record = await manager.wait(job_id, timeout_s=20)

    assert record.status is JobStatus.TIMEOUT
    assert record.error == "timed out after 3.5 s"
    assert time.monotonic() - started < 12
    assert 1 <= len(item_values(record)) < 20
    assert live_rank_pids(record) == []


async def job_under_way(manager: JobManager) -> str:
    """A job with its first item done and 15 s of work left: time to act on it, even loaded."""
    job_id = await manager.submit(
        "selftest", data_query="count=60", config={"sleep_s": 0.5}, ranks=2
    )
    async for event in manager.follow(job_id):
        if event["event"] == "item_done":
            break
    return job_id


async def test_cancel_from_another_process(manager: JobManager, store_path: Path) -> None:
    job_id = await job_under_way(manager)

    cancelled = subprocess.run(
        [DMCS, "batch", "cancel", job_id, "--store", str(store_path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert cancelled.returncode == 0, cancelled.stderr
    assert f"job {job_id} is now cancelled" in cancelled.stdout
    record = manager.get(job_id)
    assert record.status is JobStatus.CANCELLED
    assert item_values(record)
    assert live_rank_pids(record) == []
    assert progress_events(record)[-1]["status"] == "cancelled"


async def test_killed_supervisor_is_noticed_and_its_ranks_stopped(manager: JobManager) -> None:
    job_id = await job_under_way(manager)
    running = manager.get(job_id)
    assert running.supervisor_pid is not None
    os.kill(running.supervisor_pid, signal.SIGKILL)
    record = await manager.wait(job_id, timeout_s=20)

    assert record.status is JobStatus.FAILED
    assert record.error is not None
    assert f"supervisor (pid {running.supervisor_pid}) exited without recording a result" in (
        record.error
    )
    reported = [e["item"] for e in progress_events(record) if e["event"] == "item_done"]
    assert reported
    assert sorted(item_values(record)) == sorted(reported), "results reported are kept"
    assert live_rank_pids(record) == []
    assert progress_events(record)[-1]["event"] == "job_ended"
