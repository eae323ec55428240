"""Real mpiexec runs: the same job gives the same results on 1, 2 and 3 ranks."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mpi_job_inspection import item_values, live_rank_pids, progress_events

from dmcs.mpi.job_store import JobStatus
from dmcs.mpi.jobs import JobManager
from dmcs.mpi.progress import follow_progress

NINE_ITEMS = "count=9"


async def test_one_two_and_three_ranks_give_identical_results(manager: JobManager) -> None:
    config = {"sleep_s": 0.15, "work": 2000}
    job_ids = [
        await manager.submit("selftest", data_query=NINE_ITEMS, config=config, ranks=ranks)
        for ranks in (1, 2, 3)
    ]
    records = [await manager.wait(job_id, timeout_s=60) for job_id in job_ids]

    assert [r.status for r in records] == [JobStatus.SUCCEEDED] * 3
    assert [r.exit_code for r in records] == [0, 0, 0]
    one, two, three = (item_values(r) for r in records)
    assert len(one) == 9
    assert one == two == three
    assert records[0].summary == records[1].summary == records[2].summary
    for record in records:
        ranks_that_worked = {each.rank for each in record.item_results.values()}
        assert ranks_that_worked == set(range(record.ranks)), "every rank, rank 0 too, works"
        assert len(record.outputs) == 9
        for output in record.outputs:
            assert Path(output).read_text().strip() == item_values(record)[Path(output).stem]
        assert live_rank_pids(record) == []


async def test_progress_stream_counts_items_and_times_them(manager: JobManager) -> None:
    job_id = await manager.submit(
        "selftest", data_query="count=5", config={"sleep_s": 0.2}, ranks=2
    )
    followed = await asyncio.to_thread(list, follow_progress(manager.progress_path(job_id)))

    finished = [e for e in followed if e["event"] in ("item_done", "item_failed")]
    assert [e["done"] for e in finished] == [1, 2, 3, 4, 5]
    assert all(e["total"] == 5 for e in finished)
    assert all(e["seconds"] >= 0.2 for e in finished)
    assert followed[-1]["event"] == "job_ended"
    assert followed[-1]["status"] == "succeeded"
    record = manager.get(job_id)
    assert record.status is JobStatus.SUCCEEDED
    assert {e["item"] for e in finished} == set(record.item_results)
    assert record.provenance["dmcs_version"]
    assert record.command is not None
    assert record.command[:3] == [record.launch["mpiexec"], "-n", "2"]


async def test_async_follower_ends_with_the_job(manager: JobManager) -> None:
    job_id = await manager.submit("selftest", data_query="a,b,c", ranks=1)
    kinds = [event["event"] async for event in manager.follow(job_id)]

    assert kinds[0] == "job_started"
    assert kinds.count("item_done") == 3
    assert kinds[-2:] == ["job_finished", "job_ended"]


async def test_setup_failure_fails_the_job_without_running_items(manager: JobManager) -> None:
    job_id = await manager.submit(
        "selftest", data_query="count=4", config={"fail_setup": True}, ranks=2
    )
    record = await manager.wait(job_id, timeout_s=30)

    assert record.status is JobStatus.FAILED
    assert record.error is not None
    assert record.error.startswith("setup failed on rank")
    assert record.item_results == {}
    job_error = next(e for e in progress_events(record) if e["event"] == "job_error")
    assert "selftest setup failed as configured" in job_error["traceback"]


async def test_more_ranks_than_items_still_finishes(manager: JobManager) -> None:
    job_id = await manager.submit("selftest", data_query="only-item", ranks=3)
    record = await manager.wait(job_id, timeout_s=30)

    assert record.status is JobStatus.SUCCEEDED
    assert list(item_values(record)) == ["only-item"]
    assert live_rank_pids(record) == []
