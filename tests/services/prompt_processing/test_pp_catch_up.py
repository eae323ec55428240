"""A late visit caught up in daytime by OCPS's catch-up-late job: alerts once, never twice."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml
from pp_helpers import DETECTORS, SIZE, Published, alerts_on_stream, camera, group, read_out_visit

from dmcs.mpi.job_store import JobStore
from dmcs.sal.ack import AckError
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import OCPS
from dmcs.sal.remote import Remote
from dmcs.services.ocps.catch_up import CatchUpPipeline
from dmcs.services.ocps.csc import OcpsCsc
from dmcs.services.prompt_processing.alert_stream import AlertStream
from dmcs.services.prompt_processing.service import PromptProcessingService
from dmcs.services.prompt_processing.settings import PromptProcessingConfig
from dmcs.services.prompt_processing.visit_ledger import VisitLedger, VisitState
from dmcs.state_machines.summary_state import State
from dmcs.testing import wait_for_sample

EXECUTE = {"version": "", "config": "", "prereq_jobs": "", "output_dataset_types": ""}


async def _late_visit(tmp_path: Path, domain: Domain, number: int) -> None:
    config = PromptProcessingConfig(
        daq_root=tmp_path / "daq",
        work_dir=tmp_path / "pp",
        ranks=1,
        deadline_s=0.05,
        payload={"detector_size": SIZE, "detectors": DETECTORS},
    )
    published = Published()
    pp = PromptProcessingService(config, published, AlertStream(domain))
    await pp.start()
    try:
        readouts = await asyncio.to_thread(read_out_visit, camera(tmp_path / "daq"), number)
        await pp.end_readout(readouts[-1])
        await published.wait_for("visitLate", groupId=group(number))
    finally:
        await pp.stop()


def _site(tmp_path: Path) -> Path:
    defaults = {
        "prompt_processing_dir": str(tmp_path / "pp"),
        "daq_root": str(tmp_path / "daq"),
        "detector_size": SIZE,
        "detectors": DETECTORS,
    }
    folder = tmp_path / "config" / "OCPS"
    folder.mkdir(parents=True)
    settings = {
        "job_store": str(tmp_path / "jobs.sqlite"),
        "ranks": 2,
        "pipeline_defaults": {"catch-up-late": defaults},
    }
    (folder / "_init.yaml").write_text(yaml.safe_dump(settings))
    return folder.parent


async def test_late_visit_is_caught_up_once(tmp_path: Path, domain: Domain) -> None:
    await _late_visit(tmp_path, domain, 3)
    assert await alerts_on_stream(domain) == []
    async with (
        OcpsCsc(domain, 1, initial_state=State.ENABLED, config_root=_site(tmp_path)),
        Remote(domain, OCPS, 1, include=["job_result"]) as ocps,
    ):
        ack = await ocps.cmd("execute").start(
            pipeline="catch-up-late", data_query="", **EXECUTE, timeout=120
        )
        job_id = str(ack.result)
        sample = await wait_for_sample(ocps.evt("job_result"), timeout=120, job_id=job_id)
        assert sample.exit_code == 0
        summary = json.loads(sample.result)["summary"]
        sent = summary["caught_up"][group(3)]
        assert sent > 0 and summary["alerts"] == sent
        assert len(await alerts_on_stream(domain)) == sent
        record = VisitLedger(tmp_path / "pp" / "visits.sqlite").get(group(3))
        assert record is not None and record.state is VisitState.CAUGHT_UP
        assert record.alerts == sent

        with pytest.raises(AckError, match="selects no work items"):
            await ocps.cmd("execute").start(
                pipeline="catch-up-late", data_query="", **EXECUTE, timeout=60
            )

    # A second catch-up that planned the same visit before the first finished: it is skipped.
    job = JobStore(tmp_path / "jobs.sqlite").get(job_id)
    results = {item: r.result for item, r in job.item_results.items() if r.result is not None}
    racing = CatchUpPipeline({**job.config}, tmp_path / "racing")
    again = await asyncio.to_thread(racing.finalize, results)
    assert again["skipped_visits"] == [3] and again["alerts"] == 0
    assert len(await alerts_on_stream(domain)) == sent, "no alert sent twice"
