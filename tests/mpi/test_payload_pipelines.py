"""The science payloads under real MPI: 1, 2 and 3 ranks give the same products.

Each case runs once its pipeline is registered in dmcs.payloads.pipelines and is skipped
(with the reason shown) until then.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dmcs.mpi.job_store import JobRecord, JobStatus
from dmcs.mpi.jobs import JobManager
from dmcs.mpi.registry import known_pipelines, pipeline_class

THREE_CCDS = ["R22_S11", "R22_S12", "R22_S21"]
CASES = {
    "calib-bias": ("", {"detector_size": 256, "n_exposures": 3, "detectors": THREE_CCDS}),
    "alert-production": (
        f"visit=1 detector={','.join(THREE_CCDS)}",
        {"detector_size": 256, "detectors": THREE_CCDS},
    ),
}


def comparable(record: JobRecord) -> dict[str, Any]:
    """Per-item results with output paths made relative to the job, so runs can be compared."""
    results = {}
    for item, each in record.item_results.items():
        assert each.result is not None, each.traceback
        outputs = [str(Path(p).relative_to(record.job_dir)) for p in each.result["outputs"]]
        results[item] = {**each.result, "outputs": outputs}
    return results


@pytest.mark.parametrize("pipeline", sorted(CASES))
async def test_payload_gives_identical_results_on_1_2_and_3_ranks(
    manager: JobManager, pipeline: str
) -> None:
    if pipeline not in known_pipelines():
        pytest.skip(f"{pipeline} is not registered in dmcs.payloads.pipelines yet")
    data_query, config = CASES[pipeline]
    records = []
    for ranks in (1, 2, 3):
        job_id = await manager.submit(pipeline, data_query=data_query, config=config, ranks=ranks)
        records.append(await manager.wait(job_id, timeout_s=120))

    assert [r.status for r in records] == [JobStatus.SUCCEEDED] * 3, [r.error for r in records]
    one, two, three = (comparable(r) for r in records)
    assert len(one) == len(THREE_CCDS)
    assert one == two == three
    for record in records:
        assert all(Path(output).exists() for output in record.outputs)


def test_alert_production_without_a_query_plans_one_visit(tmp_path: Path) -> None:
    """`dmcs batch submit alert-production` as the README shows it: one simulated visit."""
    pipeline = pipeline_class("alert-production")({"detectors": THREE_CCDS}, tmp_path)
    assert pipeline.plan("") == [f"visit=1 detector={ccd}" for ccd in THREE_CCDS]
