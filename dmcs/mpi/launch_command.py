"""The command line that starts a job's ranks: mpiexec, srun under Slurm, or a hostfile.

Kept apart from the supervisor so each site's variant can be checked without launching.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

WORKER_MODULE = "dmcs.mpi.worker"
_THREAD_POOL_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class Launcher(StrEnum):
    MPIEXEC = "mpiexec"
    SRUN = "srun"
    HOSTFILE = "hostfile"


def _default_mpiexec() -> str:
    """The mpiexec beside this Python (the venv's MPICH), else the one on PATH."""
    beside_python = Path(sys.executable).parent / "mpiexec"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("mpiexec") or "mpiexec"


@dataclass(frozen=True)
class LaunchSettings:
    """How to start ranks on this site; stored with the job so a retry launches the same way."""

    launcher: Launcher = Launcher.MPIEXEC
    hostfile: str | None = None
    mpiexec: str = field(default_factory=_default_mpiexec)
    srun: str = "srun"
    python: str = sys.executable
    extra_args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.launcher is Launcher.HOSTFILE and not self.hostfile:
            raise ValueError("the hostfile launcher needs a hostfile")

    @property
    def program(self) -> str:
        """The program that starts the ranks: srun, or mpiexec."""
        return self.srun if self.launcher is Launcher.SRUN else self.mpiexec

    def unavailable_reason(self) -> str | None:
        """Why ranks cannot be launched from this machine, or None when the program is here."""
        if shutil.which(self.program) is not None:
            return None
        where = "is not an executable file" if os.sep in self.program else "not found on PATH"
        return f"cannot launch ranks with {self.launcher.value}: {self.program!r} {where}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "launcher": self.launcher.value, "extra_args": self.extra_args}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LaunchSettings:
        return cls(
            **{
                **data,
                "launcher": Launcher(data["launcher"]),
                "extra_args": tuple(data["extra_args"]),
            }
        )


def build_command(
    settings: LaunchSettings, ranks: int, spec_path: Path, module: str = WORKER_MODULE
) -> list[str]:
    """Argv for `ranks` copies of the rank entry point `module` reading `spec_path`.

    `module` is the batch worker by default; a long-lived pool (prompt processing) names its own.
    """
    if ranks < 1:
        raise ValueError(f"ranks must be at least 1, got {ranks}")
    worker = [settings.python, "-m", module, str(spec_path)]
    if settings.launcher is Launcher.SRUN:
        launch = [settings.srun, f"--ntasks={ranks}", "--kill-on-bad-exit=1"]
    elif settings.launcher is Launcher.HOSTFILE:
        launch = [settings.mpiexec, "-f", str(settings.hostfile), "-n", str(ranks)]
    else:
        launch = [settings.mpiexec, "-n", str(ranks)]
    return [*launch, *settings.extra_args, *worker]


def rank_environment(base: Mapping[str, str]) -> dict[str, str]:
    """`base` plus one math-library thread per rank, unless the operator set otherwise.

    N ranks already fill N cores; BLAS/OpenMP pools beside them oversubscribe the node, and
    OpenBLAS threads spin while waiting, slowing every rank.
    """
    return {**dict.fromkeys(_THREAD_POOL_VARIABLES, "1"), **base}
