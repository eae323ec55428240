"""The processed-image data model: image, mask and variance planes with WCS and header."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np
from astropy.wcs import WCS

Metadata = dict[str, str | int | float | bool]


class MaskBit(enum.IntFlag):
    """Mask plane bits, recorded in the header as M_<name> cards."""

    BAD = 1
    SAT = 2
    CR = 4
    EDGE = 8
    DET = 16
    DETNEG = 32


def mask_plane_metadata() -> Metadata:
    return {f"M_{bit.name}": int(bit) for bit in MaskBit if bit.name}


@dataclass
class Exposure:
    """A calibrated image in electrons, its mask bits and per-pixel variance (electrons^2)."""

    image: np.ndarray
    mask: np.ndarray
    variance: np.ndarray
    wcs: WCS | None = None
    metadata: Metadata = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.image.shape[0]), int(self.image.shape[1]))


@dataclass
class DataBundle:
    """What the FITS and HDF5 writers store: named arrays, header metadata and a WCS.

    Arrays are 2-D/3-D numeric images or structured tables (numeric and bytes fields); metadata
    keys are FITS keywords (at most 8 characters, upper case).
    """

    arrays: dict[str, np.ndarray]
    metadata: Metadata = field(default_factory=dict)
    wcs: WCS | None = None


def exposure_to_bundle(
    exposure: Exposure, extra: dict[str, np.ndarray] | None = None
) -> DataBundle:
    arrays = {"image": exposure.image, "mask": exposure.mask, "variance": exposure.variance}
    return DataBundle(
        arrays | (extra or {}), dict(exposure.metadata) | mask_plane_metadata(), exposure.wcs
    )


def bundle_to_exposure(bundle: DataBundle) -> Exposure:
    arrays = bundle.arrays
    return Exposure(
        arrays["image"], arrays["mask"], arrays["variance"], bundle.wcs, dict(bundle.metadata)
    )
