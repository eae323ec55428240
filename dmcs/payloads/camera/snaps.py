"""Combining the two snaps of a visit, rejecting cosmic rays by comparing them.

A cosmic ray lands in one snap only. Where the snap difference exceeds ``threshold`` times its
expected noise (photon noise of the fainter snap plus read noise, so a cosmic ray does not
inflate its own noise estimate), the brighter snap is replaced by the other snap.
"""

from __future__ import annotations

import numpy as np

from dmcs.payloads.camera.exposure import Exposure, MaskBit


def combine_snaps(snaps: list[Exposure], threshold: float = 5.0) -> Exposure:
    """Sum of the snaps with cosmic rays replaced; one snap is returned unchanged."""
    if len(snaps) == 1:
        return snaps[0]
    if len(snaps) != 2:
        raise ValueError(f"snap combination needs 1 or 2 snaps, got {len(snaps)}")
    first, second = snaps
    difference = first.image - second.image
    noise = np.minimum(first.variance, second.variance)
    noise *= np.float32(2)
    np.sqrt(noise, out=noise)
    noise *= np.float32(threshold)
    # the hits of one snap and of the other are disjoint: their differences have opposite signs
    hit_first = _grown_hits(difference > noise, difference > 0)
    np.negative(noise, out=noise)
    hit_second = _grown_hits(difference < noise, difference < 0)
    del difference, noise
    image = first.image + second.image
    image[hit_first] = 2 * second.image[hit_first]
    image[hit_second] = 2 * first.image[hit_second]
    variance = first.variance + second.variance
    variance[hit_first] = 4 * second.variance[hit_first]
    variance[hit_second] = 4 * first.variance[hit_second]
    mask = first.mask | second.mask
    mask[hit_first] |= np.int32(MaskBit.CR)
    mask[hit_second] |= np.int32(MaskBit.CR)
    metadata = dict(first.metadata) | {
        "EXPTIME": float(first.metadata["EXPTIME"]) + float(second.metadata["EXPTIME"]),
        "NSNAPS": 2,
        "NCRPIX": len(hit_first[0]) + len(hit_second[0]),
    }
    metadata.pop("SNAP", None)
    return Exposure(
        image.astype(np.float32, copy=False),
        mask,
        variance.astype(np.float32, copy=False),
        first.wcs,
        metadata,
    )


def _grown_hits(core: np.ndarray, brighter: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) of the hits and of their neighbours that are brighter in that snap too.

    Works on the (sparse) hit coordinates rather than dilating the whole frame.
    """
    rows, cols = np.nonzero(core)
    offsets = np.arange(-1, 2)
    around_rows = np.clip(rows[:, None, None] + offsets[None, :, None], 0, core.shape[0] - 1)
    around_cols = np.clip(cols[:, None, None] + offsets[None, None, :], 0, core.shape[1] - 1)
    around_rows, around_cols = np.broadcast_arrays(around_rows, around_cols)
    keep = brighter[around_rows, around_cols]
    keep[:, 1, 1] = True  # the hit itself
    flat = np.unique(around_rows[keep] * core.shape[1] + around_cols[keep])
    return np.divmod(flat, core.shape[1])
