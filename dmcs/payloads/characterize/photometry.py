"""Photometric calibration: the zero point (magnitude of 1 e-/s) from matched reference stars."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dmcs.payloads.science_limit import ScienceLimitError

MIN_SNR = 20.0


@dataclass(frozen=True)
class ZeroPoint:
    value: float
    error: float
    n_stars: int


def fit_zero_point(
    flux: np.ndarray, flux_err: np.ndarray, ref_mag: np.ndarray, exptime: float
) -> ZeroPoint:
    """Inverse-variance weighted zero point with iterative 3-sigma clipping of outliers.

    Stars whose flux is uncertain (S/N < 20) are left out; variable stars and blends fall to
    the clipping, which starts from the median so that one bright variable star cannot drag
    the weighted mean and get the good stars clipped instead.
    """
    usable = (flux > 0) & (flux / flux_err >= MIN_SNR)
    if usable.sum() < 3:
        raise ScienceLimitError(
            f"photometry: only {int(usable.sum())} usable stars for the zero point"
        )
    zp = ref_mag[usable] + 2.5 * np.log10(flux[usable] / exptime)
    zp_err = np.hypot(1.0857 * flux_err[usable] / flux[usable], 0.005)
    value = float(np.median(zp))
    for _ in range(5):
        scatter = 1.4826 * float(np.median(np.abs(zp - value)))
        keep = np.abs(zp - value) <= 3 * np.hypot(scatter, zp_err)
        weights = 1 / zp_err[keep] ** 2
        value = float(np.sum(zp[keep] * weights) / np.sum(weights))
    weights = 1 / zp_err[keep] ** 2
    value = float(np.sum(zp[keep] * weights) / np.sum(weights))
    return ZeroPoint(value, float(1 / np.sqrt(np.sum(weights))), int(keep.sum()))
