"""A rank's background writer: a forked child that runs below the rank's priority."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from dmcs.services.prompt_processing.niced_child import ChildFailed, NicedChild


def test_the_child_sees_the_parents_memory_runs_niced_and_returns_its_result(tmp_path: Path):
    pixels = np.arange(1_000_000, dtype=np.float32)  # shared copy-on-write, not sent
    before = os.nice(0)

    def work() -> dict[str, object]:
        path = tmp_path / "calexp.npy"
        np.save(path, pixels)
        return {"path": str(path), "niceness": os.nice(0)}

    child = NicedChild(work, 7)
    result = child.outcome()
    assert result["niceness"] == min(before + 7, 19)
    assert os.nice(0) == before  # the rank itself keeps its priority
    np.testing.assert_array_equal(np.load(result["path"]), pixels)


def test_a_child_that_raises_reports_the_error_with_its_traceback():
    def work() -> None:
        raise OSError("disk full while writing diffim")

    with pytest.raises(ChildFailed, match="disk full while writing diffim") as failure:
        NicedChild(work, 5).outcome()
    assert "Traceback" in str(failure.value)


def test_a_killed_child_is_reported_as_killed_not_waited_for_forever():
    child = NicedChild(lambda: time.sleep(60), 5)
    assert not child.done(0.2)
    os.kill(child.pid, signal.SIGKILL)
    with pytest.raises(ChildFailed, match=f"killed by signal {signal.SIGKILL}"):
        child.outcome()


def test_a_large_result_does_not_block_the_child():
    result = NicedChild(lambda: "x" * 1_000_000, 5).outcome()
    assert len(result) == 1_000_000
