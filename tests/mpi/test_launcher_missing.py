"""A launcher program that is not on this machine is named as the cause, before and after submit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dmcs.mpi.job_store import JobRequest, JobStatus, JobStore
from dmcs.mpi.jobs import JobManager, JobRequestError
from dmcs.mpi.launch_command import Launcher, LaunchSettings

DMCS = str(Path(sys.executable).parent / "dmcs")


def test_submit_with_srun_on_a_machine_without_it_names_srun(
    store_path: Path, tmp_path: Path
) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    env = {**os.environ, "PATH": str(empty_bin), "DMCS_JOB_STORE": str(store_path)}
    result = subprocess.run(
        [DMCS, "batch", "submit", "selftest", "-q", "count=2", "--launcher", "srun"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == "error: cannot launch ranks with srun: 'srun' not found on PATH\n"
    assert JobStore(store_path).list_jobs() == []


async def test_missing_mpiexec_is_refused_before_anything_is_recorded(
    manager: JobManager, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such" / "mpiexec"
    with pytest.raises(JobRequestError) as refused:
        await manager.submit(
            "selftest", data_query="count=2", launch=LaunchSettings(mpiexec=str(missing))
        )

    assert str(refused.value) == (
        f"cannot launch ranks with mpiexec: '{missing}' is not an executable file"
    )
    assert manager.list_jobs() == []


def test_supervisor_whose_launcher_vanished_records_the_cause(store_path: Path) -> None:
    """The launcher was there at submit and gone when the supervisor ran (another PATH)."""
    store = JobStore(store_path)
    launch = LaunchSettings(launcher=Launcher.SRUN, srun="srun-gone")
    store.create(
        JobRequest(
            job_id="000000-000000-beef",
            pipeline="selftest",
            data_query="count=1",
            config={},
            items=["item-000"],
            ranks=1,
            launch=launch.to_dict(),
            timeout_s=None,
            retry_of=None,
            provenance={},
            submitted_at=time.time(),
        )
    )
    supervisor = subprocess.run(
        [sys.executable, "-m", "dmcs.mpi.supervisor", "--store", str(store_path),
         "000000-000000-beef"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    record = store.get("000000-000000-beef")
    assert supervisor.returncode == 1, supervisor.stderr
    assert record.status is JobStatus.FAILED
    assert record.error == "cannot launch ranks with srun: 'srun-gone' not found on PATH"


def test_supervisor_dying_at_start_is_reported_with_its_last_words(
    store_path: Path, tmp_path: Path
) -> None:
    """A supervisor that dies before recording anything: its own message is the job's error."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import sys\n"
        "if 'dmcs.mpi.supervisor' in sys.orig_argv:\n"
        "    raise SystemExit('supervisor cannot start: no space left on device')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site), "DMCS_JOB_STORE": str(store_path)}
    result = subprocess.run(
        [DMCS, "batch", "submit", "selftest", "-q", "count=2"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 1, result.stdout + result.stderr
    [record] = JobStore(store_path).list_jobs()
    assert record.status is JobStatus.FAILED
    assert record.error is not None
    assert "exited without recording a result: SystemExit: supervisor cannot start" in (
        record.error
    )
    assert "supervisor cannot start: no space left on device" in result.stdout
