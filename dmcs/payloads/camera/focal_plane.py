"""Focal-plane layout: rafts of sensors named as the camera names them, and their sky WCS.

21 science rafts (5x5 minus the corners), 3x3 sensors each: 189 CCDs. All detectors share
one gnomonic tangent plane centred on the boresight, so a detector's WCS is a TAN projection
whose reference pixel is the boresight expressed in that detector's pixel frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from astropy.wcs import WCS

RAFT_GRID = 5
SENSOR_GRID = 3
CORNER_RAFTS = frozenset(
    {(0, 0), (0, RAFT_GRID - 1), (RAFT_GRID - 1, 0), (RAFT_GRID - 1, RAFT_GRID - 1)}
)
PIXEL_SCALE_ARCSEC = 0.2
SENSOR_GAP_FRACTION = 0.02
RAFT_GAP_FRACTION = 0.04


@dataclass(frozen=True)
class Pointing:
    """Where the telescope points: boresight RA/Dec and sky rotation angle, in degrees."""

    ra: float
    dec: float
    rotation: float


@dataclass(frozen=True)
class Detector:
    """One science CCD, e.g. ``R22_S11`` (raft row/column, sensor row/column)."""

    index: int
    raft_row: int
    raft_col: int
    sensor_row: int
    sensor_col: int

    @property
    def name(self) -> str:
        return f"R{self.raft_row}{self.raft_col}_S{self.sensor_row}{self.sensor_col}"


class FocalPlane:
    """The 189 science detectors and their placement, for a given detector size in pixels."""

    def __init__(self, detector_size: int) -> None:
        self.detector_size = detector_size
        detectors: list[Detector] = []
        for raft_row in range(RAFT_GRID):
            for raft_col in range(RAFT_GRID):
                if (raft_row, raft_col) in CORNER_RAFTS:
                    continue
                for sensor_row in range(SENSOR_GRID):
                    for sensor_col in range(SENSOR_GRID):
                        detectors.append(
                            Detector(len(detectors), raft_row, raft_col, sensor_row, sensor_col)
                        )
        self._by_name = {d.name: d for d in detectors}

    @cached_property
    def names(self) -> list[str]:
        return list(self._by_name)

    def detector(self, name: str) -> Detector:
        try:
            return self._by_name[name]
        except KeyError:
            raise ValueError(
                f"unknown detector {name!r}: expected a name like 'R22_S11' "
                "(rafts R01..R43 without corners, sensors S00..S22)"
            ) from None

    def center_offset(self, detector: Detector) -> tuple[float, float]:
        """Detector centre relative to the boresight, in pixels (x, y) on the focal plane."""
        sensor_pitch = self.detector_size * (1 + SENSOR_GAP_FRACTION)
        raft_pitch = SENSOR_GRID * sensor_pitch + self.detector_size * RAFT_GAP_FRACTION
        centre = (RAFT_GRID - 1) / 2
        x = (detector.raft_col - centre) * raft_pitch + (detector.sensor_col - 1) * sensor_pitch
        y = (detector.raft_row - centre) * raft_pitch + (detector.sensor_row - 1) * sensor_pitch
        return x, y

    def wcs(self, detector: Detector, pointing: Pointing) -> WCS:
        """TAN WCS of ``detector`` for a boresight pointing."""
        offset_x, offset_y = self.center_offset(detector)
        centre = (self.detector_size - 1) / 2
        scale = PIXEL_SCALE_ARCSEC / 3600.0
        angle = np.deg2rad(pointing.rotation)
        cos, sin = np.cos(angle), np.sin(angle)
        wcs = WCS(naxis=2)
        wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        wcs.wcs.crval = [pointing.ra, pointing.dec]
        wcs.wcs.crpix = [centre - offset_x + 1, centre - offset_y + 1]
        wcs.wcs.cd = scale * np.array([[-cos, -sin], [-sin, cos]])
        wcs.pixel_shape = (self.detector_size, self.detector_size)
        return wcs
