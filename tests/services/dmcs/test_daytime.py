"""Daytime jobs against a real OCPS CSC running real MPI jobs (the machinery's `selftest`
pipeline, which is cheap): prerequisites chained, a late visit caught up by the catch-up job,
and the failures an operator must see named — an unknown pipeline, a job that fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from dmcs.sal.domain import Domain
from dmcs.services.dmcs.daytime import (
    Daytime,
    DaytimeConfig,
    DaytimeError,
    DaytimeJobConfig,
    JobOutcome,
)
from dmcs.services.dmcs.visit_book import VisitBook
from dmcs.services.ocps.csc import OcpsCsc
from dmcs.state_machines.summary_state import State
from dmcs.state_machines.visit import VisitState


@pytest.fixture
async def ocps(domain: Domain, tmp_path: Path) -> AsyncIterator[OcpsCsc]:
    folder = tmp_path / "config" / "OCPS"
    folder.mkdir(parents=True)
    (folder / "_init.yaml").write_text(yaml.safe_dump(
        {"job_store": str(tmp_path / "jobs.sqlite"), "ranks": 1}))
    csc = OcpsCsc(domain, 1, config_root=tmp_path / "config", initial_state=State.ENABLED)
    await csc.start()
    yield csc
    await csc.close()


def _daytime(domain: Domain, book: VisitBook, jobs: list[DaytimeJobConfig],
             published: list[JobOutcome]) -> Daytime:
    async def on_job(outcome: JobOutcome) -> None:
        published.append(outcome)

    config = DaytimeConfig(ocps_index=1, calibration_jobs=jobs,
                           catch_up_job=DaytimeJobConfig(pipeline="selftest"), job_timeout=120,
                           submit_timeout=120, catch_up_query="late-{visits}")
    return Daytime(domain, book, config, on_job=on_job)


def _late_book(path: Path) -> VisitBook:
    book = VisitBook(path)
    book.announce("20261130_science_0003", nimages=1, ccds=1, visit=3)
    book.late("20261130_science_0003", "deadline passed")
    return book


async def test_calibration_chain_and_catch_up(ocps: OcpsCsc, domain: Domain,
                                              tmp_path: Path) -> None:
    book = _late_book(tmp_path / "visits.jsonl")
    published: list[JobOutcome] = []
    jobs = [DaytimeJobConfig(pipeline="selftest", data_query="count=2"),
            DaytimeJobConfig(pipeline="selftest", data_query="count=1", after=["selftest"])]
    daytime = _daytime(domain, book, jobs, published)
    outcomes = await daytime.run(calibrations=True, catch_up=True)
    assert [(o.purpose, o.exit_code) for o in outcomes] == [
        ("calibration update", 0), ("calibration update", 0), ("catch-up", 0)]
    assert book.visits["20261130_science_0003"].state == VisitState.CAUGHT_UP
    assert book.visits["20261130_science_0003"].catch_up_job == outcomes[2].job_id
    assert {o.job_id for o in published} == {o.job_id for o in outcomes}
    assert len(published) == 6  # each job: once submitted, once ended


async def test_unknown_pipeline_and_failing_job_are_named(ocps: OcpsCsc, domain: Domain,
                                                          tmp_path: Path) -> None:
    book = _late_book(tmp_path / "visits.jsonl")
    daytime = _daytime(domain, book, [DaytimeJobConfig(pipeline="calib-nothing")], [])
    with pytest.raises(DaytimeError, match=r"OCPS refused calib-nothing .*unknown pipeline"):
        await daytime.run(calibrations=True, catch_up=False)
    failing = [DaytimeJobConfig(pipeline="selftest", data_query="count=1",
                                config="fail_items=[item-000]")]
    outcomes = await _daytime(domain, book, failing, []).run(calibrations=True, catch_up=False)
    assert outcomes[0].exit_code not in (0, None)
    assert book.visits["20261130_science_0003"].state == VisitState.LATE
