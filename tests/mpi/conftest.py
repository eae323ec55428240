"""Fixtures for the MPI job tests: a private job store per test, real mpiexec underneath."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmcs.mpi.jobs import JobManager


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "jobs.sqlite"


@pytest.fixture
def manager(store_path: Path) -> JobManager:
    return JobManager(store_path)
