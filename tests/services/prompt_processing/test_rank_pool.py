"""The warm rank pool: real mpiexec ranks that stay up between visits and survive losing one."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from dmcs.services.prompt_processing.rank_pool import ItemFailedError, PoolError, RankPool

HEARTBEAT_S = 0.5


class WorkerLog:
    """Collects the pool's worker notices as (rank, status, item)."""

    def __init__(self) -> None:
        self.notices: list[tuple[int, str, str]] = []
        self.changed = asyncio.Event()

    def __call__(self, rank: int, status: str, item: str, reason: str) -> None:
        self.notices.append((rank, status, item))
        self.changed.set()

    async def wait_for(self, status: str) -> tuple[int, str, str]:
        while True:
            for notice in self.notices:
                if notice[1] == status:
                    return notice
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 30)


@pytest.fixture
def workers() -> WorkerLog:
    return WorkerLog()


async def _pool(tmp_path: Path, workers: WorkerLog, **config: object) -> RankPool:
    return RankPool(
        pipeline="selftest",
        config=dict(config),
        ranks=2,
        work_dir=tmp_path / "pool",
        heartbeat_s=HEARTBEAT_S,
        on_worker=workers,
    )


async def _signal_busy_rank(
    pool: RankPool, sig: signal.Signals
) -> tuple[asyncio.Task[dict[str, Any]], int, int]:
    """Start the item "slow" and send `sig` to the rank running it: (the run, rank, pid)."""
    running = asyncio.create_task(pool.run("slow"))
    while not pool.busy_ranks():
        await asyncio.sleep(0.05)
    (victim,) = pool.busy_ranks()
    victim_pid = pool.rank_pids()[victim]
    os.kill(victim_pid, sig)
    return running, victim, victim_pid


@pytest.fixture
async def quick_pool(tmp_path: Path, workers: WorkerLog) -> AsyncIterator[RankPool]:
    async with await _pool(tmp_path, workers, fail_items=["bad"]) as pool:
        yield pool


async def test_same_ranks_serve_visit_after_visit(quick_pool: RankPool) -> None:
    pids = quick_pool.rank_pids()
    assert len(pids) == 2
    for visit in range(3):
        results = await asyncio.gather(*(quick_pool.run(f"v{visit}-ccd{c}") for c in range(4)))
        assert all(len(result["value"]) == 64 for result in results)
    assert quick_pool.rank_pids() == pids, "no rank restarted between visits"
    assert all(Path(f"/proc/{pid}").exists() for pid in pids.values())


async def test_idle_work_waits_for_the_items_already_queued_for_the_rank(
    tmp_path: Path, workers: WorkerLog,
) -> None:
    """A visit's CCDs come first; the outputs of the first wait until the rank has no item."""
    async with await _pool(tmp_path, workers, idle_work_s=0.5) as pool:
        await asyncio.gather(*(pool.run(f"ccd{c}") for c in range(6)))
        await asyncio.sleep(2.0)  # the deferred work of the last items
    logs = sorted((tmp_path / "pool").rglob("events-*.log"))
    assert len(logs) == 2, logs
    for log in logs:
        kinds = [line.split()[0] for line in log.read_text().splitlines()]
        ran = kinds.count("run")
        assert ran >= 2 and kinds == ["run"] * ran + ["idle"] * ran, kinds


async def test_failing_item_names_itself_and_pool_keeps_serving(quick_pool: RankPool) -> None:
    with pytest.raises(ItemFailedError, match="bad: RuntimeError: selftest item bad failed"):
        await quick_pool.run("bad")
    assert "value" in await quick_pool.run("good")
    assert quick_pool.status().alive == 2


async def test_killed_rank_is_noticed_and_its_item_reassigned(
    tmp_path: Path, workers: WorkerLog
) -> None:
    async with await _pool(tmp_path, workers, sleep_s=2.0) as pool:
        running, victim, victim_pid = await _signal_busy_rank(pool, signal.SIGKILL)
        result = await running
        assert len(result["value"]) == 64
        assert (victim, "dead", "slow") in workers.notices
        while pool.status().alive < 2:
            await asyncio.sleep(0.05)
        assert pool.rank_pids()[victim] != victim_pid, "the rank slot has a fresh worker"
        assert workers.notices.count((victim, "alive", "")) == 2
        await asyncio.gather(pool.run("after-1"), pool.run("after-2"))


async def test_stopped_rank_goes_silent_and_never_reports(
    tmp_path: Path, workers: WorkerLog
) -> None:
    async with await _pool(tmp_path, workers, sleep_s=1.5) as pool:
        running, victim, victim_pid = await _signal_busy_rank(pool, signal.SIGSTOP)
        rank, _, item = await workers.wait_for("silent")
        assert (rank, item) == (victim, "slow")
        assert "value" in await running, "the item ran again on the other rank"
        assert workers.notices.count((victim, "dead", "slow")) == 0, "reported once, as silent"
        while _state(victim_pid) not in ("Z", "gone"):
            await asyncio.sleep(0.05)  # the silent worker was killed: it can never report late


async def test_setup_failure_is_reported_with_the_rank_traceback(
    tmp_path: Path, workers: WorkerLog
) -> None:
    with pytest.raises(PoolError, match="selftest setup failed as configured"):
        async with await _pool(tmp_path, workers, fail_setup=True):
            pass


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"
