"""Fixtures of the CLI tests: the `dmcs` command and Test CSC processes on the test's broker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_processes import Cli, CscProcesses


@pytest.fixture
def cli(sal_env: dict[str, str]) -> Cli:
    return Cli({**os.environ, **sal_env, "COLUMNS": "200"})


@pytest.fixture
def cscs(cli: Cli, tmp_path: Path) -> Iterator[CscProcesses]:
    procs = CscProcesses(cli, tmp_path)
    yield procs
    procs.stop_all()
