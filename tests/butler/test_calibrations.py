"""Masters in the calibration collection: found by time, the newest one valid from its start."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from lsst.daf.butler import Butler

from dmcs.butler.calibrations import (
    MasterFile,
    MasterMissing,
    certify_masters,
    find_master,
    load_masters,
)
from dmcs.payloads.camera.exposure import Exposure, exposure_to_bundle
from dmcs.payloads.storage import write_bundle
from tests.butler.conftest import START_TAI

KINDS = ("bias", "dark", "flat")


def write_masters(folder: Path, level: float, output_format: str = "fits") -> list[MasterFile]:
    masters = []
    for offset, kind in enumerate(KINDS):
        image = np.full((16, 16), level + offset, np.float32)
        exposure = Exposure(image, np.zeros((16, 16), np.int32), image * 0.01, None,
                            {"CALIB": kind})
        path = write_bundle(folder / kind / "R22_S11", exposure_to_bundle(exposure),
                            output_format)  # type: ignore[arg-type]
        masters.append(MasterFile(kind, "R22_S11", path))
    return masters


def test_the_masters_valid_at_a_time_are_the_ones_certified_last_before_it(
    repo: Butler, tmp_path: Path,
) -> None:
    certify_masters(repo, write_masters(tmp_path / "old", 10.0), "night1", START_TAI)
    certify_masters(repo, write_masters(tmp_path / "new", 20.0, "hdf5"), "night2",
                    START_TAI + 86_400)
    early = load_masters(repo, "R22_S11", START_TAI + 60)
    late = load_masters(repo, "R22_S11", START_TAI + 86_400 + 60)
    assert [float(m.image[0, 0]) for m in early] == [10.0, 11.0, 12.0]
    assert [float(m.image[0, 0]) for m in late] == [20.0, 21.0, 22.0]
    assert find_master(repo, "flat", "R22_S11", START_TAI + 60).run == "LSSTCam/calib/night1"
    uri = repo.getURI(find_master(repo, "bias", "R22_S11", START_TAI + 86_460))
    assert uri.ospath == str((tmp_path / "new" / "bias" / "R22_S11.h5").resolve())


def test_before_any_certification_there_is_no_master_and_it_says_what_to_run(
    repo: Butler, tmp_path: Path,
) -> None:
    certify_masters(repo, write_masters(tmp_path / "m", 1.0), "night1", START_TAI)
    with pytest.raises(MasterMissing, match=r"no master dark for R22_S11 .* run calib-dark"):
        find_master(repo, "dark", "R22_S11", START_TAI - 1)
    with pytest.raises(MasterMissing):
        find_master(repo, "bias", "R22_S12", START_TAI + 1)


def test_certifying_the_same_job_twice_changes_nothing(repo: Butler, tmp_path: Path) -> None:
    masters = write_masters(tmp_path / "m", 5.0)
    first = certify_masters(repo, masters, "night1", START_TAI)
    again = certify_masters(repo, masters, "night1", START_TAI)
    assert [r.id for r in first] == [r.id for r in again]
    assert len(repo.query_datasets("bias", collections="LSSTCam/calib/night1")) == 1
