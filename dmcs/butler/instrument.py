"""LSSTCam as the Butler knows it: the instrument, its 189 science detectors, its filters.

obs_lsst (which defines LSSTCam for Rubin's Butler) is not on PyPI, so its records are made
here, with its conventions: detector ids are LSSTCam's (R01_S00 = 0 … R43_S22 = 188, the
order of ``dmcs.payloads.camera.focal_plane``), an exposure id is DAYOBS×100000+SEQNUM, and
bias/dark frames are taken through the ``empty`` filter (band ``white``). A science image whose
header never came is archived with filter ``unknown``: the archive says what it does not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from dmcs.payloads.camera.focal_plane import FocalPlane

INSTRUMENT = "LSSTCam"
EXPOSURE_ID_DAYOBS_FACTOR = 100_000
#: LSSTCam's id space: 189 science CCDs, then the 16 corner (guide, wavefront) sensors.
DETECTOR_MAX = 205
EXPOSURE_MAX = 99_999_999 * EXPOSURE_ID_DAYOBS_FACTOR
VISIT_MAX = EXPOSURE_MAX
#: A visit groups the snaps the camera took under one groupId (obs_lsst's "by-group").
VISIT_SYSTEM = (1, "by-group")
EMPTY_FILTER = "empty"
UNKNOWN_FILTER = "unknown"
#: physical_filter -> band: the six bands, plus the two filters that are no band.
FILTERS = {
    **{band: band for band in "ugrizy"},
    EMPTY_FILTER: "white",
    UNKNOWN_FILTER: "unknown",
}
#: The camera's IMGTYPE -> the exposure record's observation_type (obs_lsst's spelling).
OBSERVATION_TYPES = {"OBJECT": "science", "BIAS": "bias", "DARK": "dark", "FLAT": "flat"}
DARK_FRAMES = ("BIAS", "DARK")


def exposure_id(dayobs: str | int, seqnum: int) -> int:
    """obs_lsst's exposure id: ``20261130`` and 12 -> 2026113000012."""
    return int(dayobs) * EXPOSURE_ID_DAYOBS_FACTOR + seqnum


def physical_filter(image_type: str, header_filter: str | None) -> str:
    """The filter an image was taken through: the header's, ``empty`` for bias and dark."""
    if image_type.upper() in DARK_FRAMES:
        return EMPTY_FILTER
    if header_filter and header_filter in FILTERS:
        return header_filter
    return UNKNOWN_FILTER


@dataclass(frozen=True)
class DetectorRecord:
    """What the Butler's ``detector`` dimension holds for one CCD."""

    id: int
    full_name: str
    raft: str
    name_in_raft: str

    def as_record(self) -> dict[str, Any]:
        return {"instrument": INSTRUMENT, "id": self.id, "full_name": self.full_name,
                "raft": self.raft, "name_in_raft": self.name_in_raft, "purpose": "SCIENCE"}


@cache
def _focal_plane() -> FocalPlane:
    return FocalPlane(128)  # names and ids do not depend on the CCD size


def science_detectors() -> list[DetectorRecord]:
    """The 189 science CCDs with LSSTCam's ids."""
    focal_plane = _focal_plane()
    records = []
    for name in focal_plane.names:
        raft, sensor = name.split("_")
        records.append(DetectorRecord(focal_plane.detector(name).index, name, raft, sensor))
    return records


def detector_id(name: str) -> int:
    """LSSTCam's id of a CCD named like ``R22_S11``; ValueError naming an unknown one."""
    return _focal_plane().detector(name).index


def instrument_record() -> dict[str, Any]:
    return {"name": INSTRUMENT, "visit_max": VISIT_MAX, "visit_system": VISIT_SYSTEM[0],
            "exposure_max": EXPOSURE_MAX, "detector_max": DETECTOR_MAX}


def filter_records() -> list[dict[str, Any]]:
    return [{"instrument": INSTRUMENT, "name": name, "band": band}
            for name, band in FILTERS.items()]
