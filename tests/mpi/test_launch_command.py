"""The rank launch command for each site: mpiexec and hostfile run for real, srun is built."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from dmcs.mpi.job_store import JobStatus
from dmcs.mpi.jobs import JobManager
from dmcs.mpi.launch_command import Launcher, LaunchSettings, build_command, rank_environment

SPEC = Path("/jobs/j1/job.json")


def test_srun_command_kills_the_step_when_a_rank_dies() -> None:
    settings = LaunchSettings(
        launcher=Launcher.SRUN,
        srun="/usr/bin/srun",
        python="/venv/bin/python",
        extra_args=("--mpi=pmi2",),
    )
    assert build_command(settings, 64, SPEC) == [
        "/usr/bin/srun", "--ntasks=64", "--kill-on-bad-exit=1", "--mpi=pmi2",
        "/venv/bin/python", "-m", "dmcs.mpi.worker", "/jobs/j1/job.json",
    ]  # fmt: skip


def test_hostfile_command_names_the_hosts() -> None:
    settings = LaunchSettings(
        launcher=Launcher.HOSTFILE, hostfile="/etc/dmcs/hosts", mpiexec="mpiexec", python="py"
    )
    assert build_command(settings, 8, SPEC) == [
        "mpiexec", "-f", "/etc/dmcs/hosts", "-n", "8", "py", "-m", "dmcs.mpi.worker", str(SPEC),
    ]  # fmt: skip


def test_mpiexec_command_defaults_to_the_venv_mpiexec() -> None:
    command = build_command(LaunchSettings(), 3, SPEC)
    assert Path(command[0]).name == "mpiexec"
    assert command[1:3] == ["-n", "3"]
    assert command[-3:] == ["-m", "dmcs.mpi.worker", str(SPEC)]


def test_hostfile_launcher_without_hostfile_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a hostfile"):
        LaunchSettings(launcher=Launcher.HOSTFILE)


def test_launch_settings_survive_the_job_store_round_trip() -> None:
    settings = LaunchSettings(launcher=Launcher.SRUN, extra_args=("--exclusive",))
    assert LaunchSettings.from_dict(settings.to_dict()) == settings


def test_ranks_get_one_math_thread_each_unless_the_operator_chose() -> None:
    environment = rank_environment({"PATH": "/bin", "OMP_NUM_THREADS": "4"})
    assert environment["PATH"] == "/bin"
    assert environment["OMP_NUM_THREADS"] == "4"
    assert environment["OPENBLAS_NUM_THREADS"] == "1"


async def test_hostfile_job_runs_for_real_on_this_host(manager: JobManager, tmp_path: Path) -> None:
    hostfile = tmp_path / "hosts"
    hostfile.write_text(f"{socket.gethostname()}:2\n")
    launch = LaunchSettings(launcher=Launcher.HOSTFILE, hostfile=str(hostfile))
    job_id = await manager.submit("selftest", data_query="count=4", ranks=2, launch=launch)
    record = await manager.wait(job_id, timeout_s=30)

    assert record.status is JobStatus.SUCCEEDED
    assert record.command is not None
    assert record.command[1:3] == ["-f", str(hostfile)]
    assert {each.rank for each in record.item_results.values()} <= {0, 1}
