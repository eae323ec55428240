"""One CCD's file: DAQ pixels (md5-checked) + the header's cards -> a checksummed FITS file.

``write_ccd`` is a plain function of plain data, so a pool of threads or of processes can
run many at once (``dmcs.services.archiver.workers``); it touches neither the Butler nor the
DAQ's archive state, which the caller updates once per exposure.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from astropy.io import fits

from dmcs.services.archiver.raw_fits import assemble, write_atomically
from dmcs.sims.daq_store import DaqCorruptError, DaqImage, DaqStore

ARCHIVED = 0
DAQ_DATA_BAD = 1
WRITE_FAILED = 2

Cards = dict[str, str | int | float | bool]


@dataclass(frozen=True)
class CcdJob:
    """Everything one worker needs to write one CCD's file."""

    daq_root: Path
    image: DaqImage
    detector: str
    header: fits.Header | None
    cards: Cards
    path: Path


@dataclass(frozen=True)
class CcdWritten:
    detector: str
    path: Path
    md5: str
    size: int


@dataclass(frozen=True)
class CcdFailed:
    """A CCD not written; ``status_code`` is imageInOODS's (1: DAQ data bad, 2: write failed)."""

    detector: str
    status_code: int
    description: str


@cache
def _daq(root: Path) -> DaqStore:
    """One DaqStore per worker process (opening one checks its schema)."""
    return DaqStore(root)


def write_ccd(job: CcdJob) -> CcdWritten | CcdFailed:
    """Read, assemble and write one CCD; what happened, never an exception for bad data."""
    daq = _daq(job.daq_root)
    name = job.image.name
    try:
        raw = daq.read_raw(name, job.detector)
    except DaqCorruptError as err:
        return CcdFailed(job.detector, DAQ_DATA_BAD, f"DAQ data unusable: {err}")
    hdus = assemble(raw, job.header, {**job.cards, "DAQMD5": daq.ccd_md5(name, job.detector)})
    try:
        md5, size = write_atomically(hdus, job.path)
    except OSError as err:
        return CcdFailed(job.detector, WRITE_FAILED, f"cannot write {job.path}: {err.strerror}")
    return CcdWritten(job.detector, job.path, md5, size)
