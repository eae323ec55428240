"""OCPS data queries resolved against the archive's Butler: work only where raws are, and a
query that matches none refused in one line naming it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from dmcs.butler.repository import open_repository
from dmcs.mpi.job_store import JobStore
from dmcs.sal.ack import AckError
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import OCPS
from dmcs.sal.remote import Remote
from dmcs.services.ocps.catch_up import CatchUpPipeline
from dmcs.services.ocps.csc import OcpsCsc
from dmcs.services.prompt_processing.service import LEDGER_FILE
from dmcs.services.prompt_processing.visit_ledger import CcdState, VisitLedger, VisitState
from dmcs.state_machines.summary_state import State
from tests.butler.conftest import ingest_visit

DETECTORS = ["R22_S11", "R22_S12"]
EXECUTE = {"version": "", "config": "", "prereq_jobs": "", "output_dataset_types": ""}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Raws of visit 1 (both CCDs) and visit 2 (R22_S11 only)."""
    root = tmp_path / "archive"
    butler = open_repository(root)
    ingest_visit(butler, root, 1, DETECTORS)
    ingest_visit(butler, root, 2, DETECTORS[:1])
    return root


@pytest.fixture
async def ocps(domain: Domain, tmp_path: Path, repo: Path) -> AsyncIterator[Remote]:
    site = tmp_path / "config"
    (site / "OCPS").mkdir(parents=True)
    defaults = {"detectors": DETECTORS, "detector_size": 128, "butler_repo": str(repo)}
    (site / "OCPS" / "_init.yaml").write_text(yaml.safe_dump({
        "job_store": str(tmp_path / "jobs.sqlite"), "ranks": 1,
        "pipeline_defaults": {"alert-production": defaults}}))
    async with (
        OcpsCsc(domain, 1, initial_state=State.ENABLED, config_root=site),
        Remote(domain, OCPS, 1, include=["job_id"]) as remote,
    ):
        yield remote


async def test_a_job_covers_the_ccds_with_raws_and_an_empty_query_is_refused(
    ocps: Remote, tmp_path: Path, repo: Path,
) -> None:
    ack = await ocps.cmd("execute").start(pipeline="alert-production",
                                          data_query="visit=2..3", **EXECUTE, timeout=60)
    job_id = str(ack.result)
    assert JobStore(tmp_path / "jobs.sqlite").get(job_id).items == ["visit=2 detector=R22_S11"]
    await ocps.cmd("abort_job").start(job_id=job_id, timeout=30)
    with pytest.raises(AckError, match=(
            r"execute: bad data query for alert-production: data query 'visit=5 "
            rf"detector=R22_S12' matches no raw in the Butler repository {repo}$")):
        await ocps.cmd("execute").start(pipeline="alert-production",
                                        data_query="visit=5 detector=R22_S12", **EXECUTE,
                                        timeout=60)


def test_catch_up_plans_only_the_late_ccds_the_archive_holds(
    tmp_path: Path, repo: Path,
) -> None:
    pp_dir = tmp_path / "pp"
    ledger = VisitLedger(pp_dir / LEDGER_FILE)
    for visit in (2, 3):
        group = f"20261130_science_{visit:04d}"
        ledger.announce(group, visit, DETECTORS)
        ledger.begin(group, [f"im{visit}"], DETECTORS)
        ledger.claim_ccds(group, DETECTORS, [CcdState.PROCESSING], CcdState.LATE)
        ledger.claim(group, [VisitState.PROCESSING], VisitState.LATE)
    config = {"detectors": DETECTORS, "detector_size": 128, "daq_root": str(tmp_path / "daq"),
              "prompt_processing_dir": str(pp_dir), "butler_repo": str(repo),
              "alert_stream": {"subname": "unused"}}
    pipeline = CatchUpPipeline(config, tmp_path / "out")
    assert pipeline.plan("") == ["visit=2 detector=R22_S11 images=im2"]
    with pytest.raises(ValueError, match="data query 'visit=3' matches no raw"):
        pipeline.plan("visit=3")
