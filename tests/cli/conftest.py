"""Fixtures of the CLI tests: Test CSC processes under the name the tests use."""

from __future__ import annotations

import pytest

from dmcs.testing.processes import CscProcesses


@pytest.fixture
def cscs(csc_processes: CscProcesses) -> CscProcesses:
    return csc_processes
