"""Combining the two snaps of a visit, rejecting cosmic rays by comparing them.

A cosmic ray lands in one snap only. Where the snap difference exceeds ``threshold`` times its
expected noise (photon noise of the fainter snap plus read noise, so a cosmic ray does not
inflate its own noise estimate), the brighter snap is replaced by the other snap.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from dmcs.payloads.exposure import Exposure, MaskBit


def combine_snaps(snaps: list[Exposure], threshold: float = 5.0) -> Exposure:
    """Sum of the snaps with cosmic rays replaced; one snap is returned unchanged."""
    if len(snaps) == 1:
        return snaps[0]
    if len(snaps) != 2:
        raise ValueError(f"snap combination needs 1 or 2 snaps, got {len(snaps)}")
    first, second = snaps
    difference = first.image - second.image
    noise = np.sqrt(2 * np.minimum(first.variance, second.variance))
    hit_first = _grow(difference > threshold * noise, first.image - second.image > 0)
    hit_second = _grow(difference < -threshold * noise, second.image - first.image > 0)
    image = first.image + second.image
    image = np.where(hit_first, 2 * second.image, image)
    image = np.where(hit_second, 2 * first.image, image)
    variance = first.variance + second.variance
    variance = np.where(hit_first, 4 * second.variance, variance)
    variance = np.where(hit_second, 4 * first.variance, variance)
    mask = first.mask | second.mask
    mask[hit_first | hit_second] |= np.int32(MaskBit.CR)
    metadata = dict(first.metadata) | {
        "EXPTIME": float(first.metadata["EXPTIME"]) + float(second.metadata["EXPTIME"]),
        "NSNAPS": 2,
        "NCRPIX": int((hit_first | hit_second).sum()),
    }
    metadata.pop("SNAP", None)
    return Exposure(
        image.astype(np.float32), mask, variance.astype(np.float32), first.wcs, metadata
    )


def _grow(core: np.ndarray, brighter: np.ndarray) -> np.ndarray:
    """Extend detected hits by one pixel into neighbours that are also brighter in that snap."""
    return core | (ndimage.binary_dilation(core) & brighter)
