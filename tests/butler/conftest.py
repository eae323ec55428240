"""A repository on SQLite under the test's directory, and raws of small visits to put in it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from lsst.daf.butler import Butler

from dmcs.butler.raws import ExposureInfo, RawFile, VisitSpan, ingest_exposure
from dmcs.butler.repository import open_repository

DAYOBS = "20261130"
START_TAI = 1_796_083_237.0  # 2026-12-01T00:00 UTC, in TAI unix seconds


@pytest.fixture
def repo_root(tmp_path: Path) -> Path:
    return tmp_path / "repo"


@pytest.fixture
def repo(repo_root: Path) -> Butler:
    return open_repository(repo_root)


def science_exposure(visit: int, snap: int = 0, dayobs: str = DAYOBS) -> ExposureInfo:
    seqnum = visit * 10 + snap
    begin = START_TAI + 40.0 * visit + 17.0 * snap
    return ExposureInfo(
        obs_id=f"MC_O_{dayobs}_{seqnum:06d}", dayobs=dayobs, seqnum=seqnum, image_type="OBJECT",
        group=f"{dayobs}_science_{visit:04d}", exposure_time=15.0, dark_time=15.2,
        begin_tai=begin, end_tai=begin + 15.0, physical_filter="r", tracking_ra=150.0,
        tracking_dec=2.0, sky_angle=0.0, science_program="science",
        visit=VisitSpan(visit, visit * 10, START_TAI + 40.0 * visit, begin + 15.0,
                        15.0 * (snap + 1)))


def write_raw(root: Path, exposure: ExposureInfo, detector: str) -> Path:
    """A small raw-like FITS file (checksums, OBSID, DETNAME) where the archiver puts them."""
    folder = root / "LSSTCam" / exposure.dayobs / exposure.obs_id
    path = folder / f"{exposure.obs_id}_{detector}.fits"
    path.parent.mkdir(parents=True, exist_ok=True)
    primary = fits.PrimaryHDU()
    primary.header["OBSID"] = exposure.obs_id
    primary.header["DETNAME"] = detector
    pixels = np.arange(64, dtype=">i4").reshape(8, 8) + exposure.seqnum
    fits.HDUList([primary, fits.ImageHDU(pixels, name="SEGMENT10")]).writeto(path, checksum=True)
    return path


def ingest_visit(butler: Butler, root: Path, visit: int, detectors: Sequence[str],
                 snaps: int = 1, dayobs: str = DAYOBS) -> None:
    """Raws of ``snaps`` snaps of a science visit of night ``dayobs``, in the repository."""
    for snap in range(snaps):
        exposure = science_exposure(visit, snap, dayobs)
        ingest_exposure(butler, exposure, [RawFile(d, write_raw(root, exposure, d))
                                           for d in detectors])
