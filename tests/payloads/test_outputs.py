"""Outputs: every FITS file passes fitsverify; FITS and HDF5 read back identically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dmcs.payloads.camera.exposure import DataBundle
from dmcs.payloads.storage import read_bundle, write_bundle
from tests.payloads.conftest import PayloadRun, fitsverify


def written_fits(*runs: PayloadRun) -> list[Path]:
    paths = [Path(p) for run in runs for result in run.results.values() for p in result["outputs"]]
    return [p for p in paths if p.suffix == ".fits"]


def test_every_fits_file_written_passes_fitsverify(
    calibration_runs: dict[str, PayloadRun], alert_run: PayloadRun
) -> None:
    paths = written_fits(alert_run, *calibration_runs.values())
    assert len(paths) == 2 * 3 + 6 * 4
    reports = {path.name: fitsverify(path) for path in paths}
    assert all(report == (0, 0) for report in reports.values()), reports


def assert_same_bundle(a: DataBundle, b: DataBundle) -> None:
    assert a.metadata == b.metadata
    assert a.arrays.keys() == b.arrays.keys()
    for name in a.arrays:
        assert a.arrays[name].dtype == b.arrays[name].dtype, name
        assert np.array_equal(
            a.arrays[name], b.arrays[name], equal_nan=a.arrays[name].dtype.kind == "f"
        ), name
    assert (a.wcs is None) == (b.wcs is None)
    if a.wcs is not None and b.wcs is not None:
        assert a.wcs.to_header() == b.wcs.to_header()


@pytest.mark.parametrize("dataset", ["calexp", "src", "diffim", "diasrc"])
def test_fits_and_hdf5_copies_read_back_identically(
    alert_run: PayloadRun, dataset: str, tmp_path: Path
) -> None:
    source = next(
        Path(p)
        for p in alert_run.results["visit=2 detector=R22_S11"]["outputs"]
        if f"/{dataset}/" in p
    )
    original = read_bundle(source)
    as_fits = read_bundle(write_bundle(tmp_path / "copy", original, "fits"))
    as_hdf5 = read_bundle(write_bundle(tmp_path / "copy", original, "hdf5"))
    assert_same_bundle(original, as_fits)
    assert_same_bundle(as_fits, as_hdf5)
    if dataset in ("calexp", "diffim"):
        assert as_hdf5.wcs is not None and as_hdf5.metadata["ZP"] == original.metadata["ZP"]


def test_hdf5_output_format_gives_the_same_science(tmp_path: Path, alert_run: PayloadRun) -> None:
    from tests.payloads.conftest import run_pipeline

    config = {"detectors": ["R22_S11"], "output_format": "hdf5", "dataset_formats": {"src": "fits"}}
    run = run_pipeline("alert-production", config, tmp_path, "visit=1")
    result = run.results["visit=1 detector=R22_S11"]
    suffixes = sorted(Path(p).suffix for p in result["outputs"])
    assert suffixes == [".fits", ".h5", ".h5", ".h5"]
    calexp_h5 = read_bundle(next(Path(p) for p in result["outputs"] if "/calexp/" in p))
    assert calexp_h5.arrays["image"].shape == (512, 512)
    assert calexp_h5.wcs is not None


def test_metadata_that_fits_cannot_hold_is_refused(tmp_path: Path) -> None:
    bundle = DataBundle({"image": np.zeros((4, 4), np.float32)}, {"LONGKEYWORD": 1})
    with pytest.raises(ValueError, match="not a valid FITS keyword"):
        write_bundle(tmp_path / "bad", bundle, "fits")
