"""Shared payload runs: a calibration chain and a three-visit alert-production run.

Session-scoped so that the truth checks, I/O checks and APDB checks all look at one real run
instead of each simulating its own.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dmcs.payloads.pipelines import PIPELINES

CALIB_DETECTORS = ["R22_S11", "R22_S12"]
VISITS = "visit=1..3"


@dataclass
class PayloadRun:
    pipeline: Any
    output_dir: Path
    results: dict[str, dict[str, Any]]
    summary: dict[str, Any]


def run_pipeline(name: str, config: dict[str, Any], output_dir: Path, query: str) -> PayloadRun:
    """What the MPI layer does, on one rank: plan, setup, every item, finalize."""
    pipeline = PIPELINES[name](config, output_dir)
    items = pipeline.plan(query)
    pipeline.setup()
    results = {item: pipeline.run_item(item) for item in items}
    return PayloadRun(pipeline, output_dir, results, pipeline.finalize(results))


@pytest.fixture(scope="session")
def calibration_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, PayloadRun]:
    root = tmp_path_factory.mktemp("calib")
    config = {"detectors": CALIB_DETECTORS, "n_exposures": 5}
    return {
        kind: run_pipeline(f"calib-{kind}", config, root, "") for kind in ("bias", "dark", "flat")
    }


@pytest.fixture(scope="session")
def alert_run(
    tmp_path_factory: pytest.TempPathFactory, calibration_runs: dict[str, PayloadRun]
) -> PayloadRun:
    """Visits 1-3 on the default detectors; two of them calibrated with our own masters."""
    calib_dir = calibration_runs["bias"].output_dir
    config = {"detectors": CALIB_DETECTORS, "calib_dir": str(calib_dir)}
    return run_pipeline("alert-production", config, tmp_path_factory.mktemp("alert"), VISITS)


@pytest.fixture(scope="session")
def default_alert_run(tmp_path_factory: pytest.TempPathFactory) -> PayloadRun:
    """The default configuration (four detectors, simulator calibrations), visits 1-3."""
    return run_pipeline("alert-production", {}, tmp_path_factory.mktemp("alert_default"), VISITS)


FITSVERIFY_SUMMARY = re.compile(r"Verification found (\d+) warning\(s\) and (\d+) error\(s\)")


def fitsverify(path: Path) -> tuple[int, int]:
    """(warnings, errors) reported by the independent fitsverify checker."""
    report = subprocess.run(
        ["fitsverify", str(path)], capture_output=True, text=True, check=False
    ).stdout
    match = FITSVERIFY_SUMMARY.search(report)
    assert match, f"no fitsverify summary for {path}:\n{report}"
    return int(match.group(1)), int(match.group(2))
