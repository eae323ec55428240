"""The calib-* payloads certify their masters in the Butler, and prompt processing reads them
from there: the same calibrations as from the files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from lsst.daf.butler import Butler

from dmcs.payloads.association.prompt_processing import PromptProcessor
from dmcs.payloads.camera.focal_plane import FocalPlane
from dmcs.payloads.config import AlertProductionConfig
from dmcs.payloads.pipelines import PIPELINES

DETECTOR = "R22_S11"
SMALL = {"detectors": [DETECTOR], "detector_size": 128}
FEW_FRAMES = {"n_exposures": 3, "exptime": 1.0}


def run_calibration(kind: str, repo_root: Path, calib_dir: Path, job: Path) -> dict:
    config = {**SMALL, **FEW_FRAMES, "calib_dir": str(calib_dir), "butler_repo": str(repo_root)}
    pipeline = PIPELINES[f"calib-{kind}"](config, job / "outputs")
    items = pipeline.plan("")
    pipeline.setup()
    return pipeline.finalize({item: pipeline.run_item(item) for item in items})


def test_masters_are_certified_and_prompt_processing_reads_them(
    repo: Butler, repo_root: Path, tmp_path: Path,
) -> None:
    calib_dir = tmp_path / "calib"
    processor = PromptProcessor(
        AlertProductionConfig.model_validate({**SMALL, "calib_butler": str(repo_root)}),
        AlertProductionConfig.model_validate(SMALL).simulator())
    missing = processor.missing_calibrations([DETECTOR])
    assert len(missing) == 3 and "no master bias for R22_S11" in str(missing[0])
    summaries = {kind: run_calibration(kind, repo_root, calib_dir, tmp_path / f"job-{kind}")
                 for kind in ("bias", "dark", "flat")}
    assert summaries["dark"]["certified"] == {
        "collection": "LSSTCam/calib", "run": "LSSTCam/calib/calib-dark/job-dark", "datasets": 1}
    certified = repo.query_datasets("flat", collections="LSSTCam/calib", find_first=False)
    assert len(certified) == 1
    assert repo.getURI(certified[0]).ospath == summaries["flat"]["outputs"][0]
    assert processor.missing_calibrations([DETECTOR]) == []

    detector = FocalPlane(128).detector(DETECTOR)
    from_butler = processor.calibrations(detector)
    from_files = PromptProcessor(
        AlertProductionConfig.model_validate({**SMALL, "calib_dir": str(calib_dir)}),
        processor.simulator).calibrations(detector)
    for plane in ("bias", "dark", "flat", "defects"):
        assert np.array_equal(getattr(from_butler, plane), getattr(from_files, plane)), plane
