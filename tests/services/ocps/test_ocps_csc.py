"""The OCPS CSC on real MPI jobs: execute, job_id, job_result, prerequisites, abort, hostfile."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from dmcs.mpi.job_store import JobStore
from dmcs.sal.ack import AckError
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import OCPS
from dmcs.sal.remote import Remote
from dmcs.services.ocps.csc import OcpsCsc
from dmcs.state_machines.summary_state import State
from dmcs.testing import wait_for_sample
from dmcs.testing.csc_checks import check_standard_behaviour

EXECUTE_DEFAULTS = {
    "version": "",
    "config": "",
    "data_query": "count=2",
    "prereq_jobs": "",
    "output_dataset_types": "",
}


def _site(tmp_path: Path, **settings: Any) -> Path:
    root = tmp_path / "config"
    (root / "OCPS").mkdir(parents=True)
    values = {"job_store": str(tmp_path / "jobs.sqlite"), "ranks": 2, **settings}
    (root / "OCPS" / "_init.yaml").write_text(yaml.safe_dump(values))
    return root


@pytest.fixture
async def ocps(domain: Domain, tmp_path: Path) -> AsyncIterator[Remote]:
    async with (
        OcpsCsc(domain, 1, initial_state=State.ENABLED, config_root=_site(tmp_path)),
        Remote(domain, OCPS, 1, include=["job_id", "job_result"]) as remote,
    ):
        yield remote


async def execute(remote: Remote, pipeline: str = "selftest", **fields: Any) -> str:
    ack = await remote.cmd("execute").start(
        pipeline=pipeline, **{**EXECUTE_DEFAULTS, **fields}, timeout=60
    )
    return str(ack.result)


async def result_of(remote: Remote, job_id: str) -> tuple[int, dict[str, Any]]:
    sample = await wait_for_sample(remote.evt("job_result"), timeout=60, job_id=job_id)
    return sample.exit_code, json.loads(sample.result)


async def test_standard_behaviour(domain: Domain, tmp_path: Path) -> None:
    await check_standard_behaviour(domain, OcpsCsc, tmp_path, index=1)


async def test_execute_publishes_job_id_then_result_and_batch_cli_lists_it(
    ocps: Remote, tmp_path: Path
) -> None:
    job_id = await execute(ocps, version="w.2026.48", config="work=500")
    announced = await wait_for_sample(ocps.evt("job_id"), job_id=job_id)
    assert announced.event_name == "cmd_execute"
    exit_code, result = await result_of(ocps, job_id)
    assert exit_code == 0
    assert result["status"] == "succeeded" and result["version"] == "w.2026.48"
    assert result["summary"]["items"] == 2
    listing = subprocess.run(
        [
            str(Path(sys.executable).parent / "dmcs"),
            "batch",
            "list",
            "--store",
            str(tmp_path / "jobs.sqlite"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert job_id in listing and "selftest" in listing


async def test_unknown_pipeline_is_refused_naming_it_and_the_known_ones(ocps: Remote) -> None:
    with pytest.raises(AckError, match=r"unknown pipeline 'calib-everything'.*selftest"):
        await execute(ocps, pipeline="calib-everything")


async def test_missing_prerequisite_is_refused_naming_it(ocps: Remote) -> None:
    with pytest.raises(AckError, match="prerequisite job 'no-such-job' does not exist"):
        await execute(ocps, prereq_jobs="no-such-job")


async def test_bad_config_and_query_are_refused_and_ocps_goes_on(ocps: Remote) -> None:
    with pytest.raises(AckError, match="unknown config field 'speed'"):
        await execute(ocps, config="speed=11")
    with pytest.raises(AckError, match=r"config file 'missing\.yaml'"):
        await execute(ocps, config="missing.yaml")
    with pytest.raises(AckError, match="expected 'count=N'"):
        await execute(ocps, data_query="count=")
    assert (await result_of(ocps, await execute(ocps)))[0] == 0


async def test_job_waits_for_its_running_prerequisite_and_refuses_a_failed_one(
    ocps: Remote,
) -> None:
    first = await execute(ocps, config="sleep_s=1.0")
    second = await execute(ocps, prereq_jobs=first)  # acked once `first` succeeded
    first_code, first_result = await result_of(ocps, first)
    assert first_code == 0 and first_result["status"] == "succeeded"
    assert (await result_of(ocps, second))[0] == 0
    failing = await execute(ocps, config="fail_items=[item-000]")
    code, result = await result_of(ocps, failing)
    assert code == 1 and result["failed_items"] == ["item-000"]
    with pytest.raises(AckError, match=f"prerequisite job {failing} ended failed"):
        await execute(ocps, prereq_jobs=f"{first},{failing}")


async def test_abort_job_cancels_a_running_job(ocps: Remote) -> None:
    job_id = await execute(ocps, config="sleep_s=30")
    ack = await ocps.cmd("abort_job").start(job_id=job_id, timeout=30)
    assert ack.result == f"job {job_id} cancelled"
    _, result = await result_of(ocps, job_id)
    assert result["status"] == "cancelled"
    with pytest.raises(AckError, match=f"job {job_id} already ended"):
        await ocps.cmd("abort_job").start(job_id=job_id, timeout=30)
    with pytest.raises(AckError, match="unknown job id 'nope'"):
        await ocps.cmd("abort_job").start(job_id="nope", timeout=30)


async def test_hostfile_of_two_loopback_nodes(domain: Domain, tmp_path: Path) -> None:
    hostfile = tmp_path / "hosts"
    hostfile.write_text("127.0.0.1:1\nlocalhost:1\n")
    site = _site(tmp_path, launcher="hostfile", hostfile=str(hostfile))
    async with (
        OcpsCsc(domain, 2, initial_state=State.ENABLED, config_root=site),
        Remote(domain, OCPS, 2, include=["job_result"]) as remote,
    ):
        job_id = await execute(remote, data_query="count=4")
        code, result = await result_of(remote, job_id)
    assert code == 0 and result["summary"]["items"] == 4
    record = JobStore(tmp_path / "jobs.sqlite").get(job_id)
    assert record.command is not None and record.command[1:3] == ["-f", str(hostfile)]
    assert record.provenance["launcher"] == "hostfile"
