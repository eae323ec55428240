"""MPI scaling of one visit: the same 8-CCD job on 1 and on 2 ranks.

Every rank works (rank 0 runs items in a thread beside its coordinator), so 2 ranks are
2 workers on this 2-core machine. The baseline is the same job on 1 rank in the same run;
efficiency = t1 / (2 * t2), where t is the job's wall time from mpiexec start to exit
(process start, imports, per-rank setup and finalize included), as an operator sees it.

    python benchmarks/mpi_scaling.py --json scaling.json
    python benchmarks/mpi_scaling.py --pipeline calib-bias    # another payload
    python benchmarks/mpi_scaling.py --pipeline selftest      # the machinery alone
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from dmcs.mpi.job_store import JobRecord, JobStatus
from dmcs.mpi.jobs import JobManager
from dmcs.mpi.registry import known_pipelines

EIGHT_CCDS = [
    "R22_S00",
    "R22_S01",
    "R22_S02",
    "R22_S10",
    "R22_S11",
    "R22_S12",
    "R22_S20",
    "R22_S21",
]
PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "alert-production": (
        f"visit=1 detector={','.join(EIGHT_CCDS)}",
        {"detectors": EIGHT_CCDS, "detector_size": 1024},
    ),
    "calib-bias": ("", {"detectors": EIGHT_CCDS, "detector_size": 1024, "n_exposures": 5}),
    "selftest": ("count=8", {"work": 2_500_000}),
}


async def run_job(manager: JobManager, pipeline: str, ranks: int) -> JobRecord:
    data_query, config = PRESETS[pipeline]
    job_id = await manager.submit(pipeline, data_query=data_query, config=config, ranks=ranks)
    record = await manager.wait(job_id)
    if record.status is not JobStatus.SUCCEEDED:
        sys.exit(f"{ranks}-rank job {job_id} {record.status}: {record.error}")
    return record


def wall_seconds(record: JobRecord) -> float:
    assert record.started_at is not None and record.ended_at is not None
    return record.ended_at - record.started_at


def busy_seconds(record: JobRecord) -> float:
    """Time the ranks spent inside items (the rest is startup, setup, waiting, finalize)."""
    return sum(each.seconds for each in record.item_results.values())


async def measure(pipeline: str, repeat: int) -> dict[str, Any]:
    """Alternate 1- and 2-rank runs `repeat` times and keep each one's fastest run."""
    with tempfile.TemporaryDirectory(prefix="dmcs-mpi-scaling-") as store_dir:
        manager = JobManager(Path(store_dir) / "jobs.sqlite")
        runs: dict[int, list[JobRecord]] = {1: [], 2: []}
        for _ in range(repeat):
            for ranks in runs:
                runs[ranks].append(await run_job(manager, pipeline, ranks))
    one, two = (min(runs[ranks], key=wall_seconds) for ranks in (1, 2))
    t1, t2 = wall_seconds(one), wall_seconds(two)
    busy_1, busy_2 = busy_seconds(one), busy_seconds(two)
    return {
        "pipeline": pipeline,
        "items": len(one.items),
        "repeat": repeat,
        "mean_item_seconds_1_rank": busy_1 / len(one.items),
        "mean_item_seconds_2_ranks": busy_2 / len(two.items),
        "t1": t1,
        "t2": t2,
        "speedup": t1 / t2,
        "efficiency": t1 / (2 * t2),
        "rank_busy_fraction_2_ranks": busy_2 / (2 * t2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pipeline", default="alert-production", choices=sorted(PRESETS))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per rank count; the fastest counts"
    )
    arguments = parser.parse_args()
    if arguments.pipeline not in known_pipelines():
        sys.exit(f"pipeline {arguments.pipeline!r} is not available yet; try --pipeline selftest")
    figures = asyncio.run(measure(arguments.pipeline, arguments.repeat))
    print(
        f"{figures['pipeline']}: {figures['items']} items; mean item time "
        f"{figures['mean_item_seconds_1_rank']:.2f} s on 1 rank, "
        f"{figures['mean_item_seconds_2_ranks']:.2f} s on 2 ranks (CPU contention shows here)"
    )
    print(f"1 rank : t1 = {figures['t1']:.2f} s")
    print(
        f"2 ranks: t2 = {figures['t2']:.2f} s, ranks busy in items "
        f"{100 * figures['rank_busy_fraction_2_ranks']:.0f}% of it"
    )
    print(
        f"speedup t1/t2 = {figures['speedup']:.2f}x, efficiency t1/(2*t2) = "
        f"{figures['efficiency']:.2f} (target >= 0.85)"
    )
    if arguments.json:
        arguments.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
