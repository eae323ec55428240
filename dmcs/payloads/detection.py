"""Source detection: PSF-matched filtering, thresholding in significance, one peak per maximum.

The significance of a pixel is the PSF-smoothed image over its exact noise, sqrt of the variance
smoothed by the squared kernel; with a Gaussian kernel of width s the squared kernel is a
Gaussian of width s/sqrt(2) scaled by 1/(4 pi s^2). This handles spatially varying noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class Peaks:
    x: np.ndarray
    y: np.ndarray
    significance: np.ndarray


def significance_map(image: np.ndarray, variance: np.ndarray, psf_sigma: float) -> np.ndarray:
    smoothed = ndimage.gaussian_filter(image, psf_sigma, mode="nearest")
    smoothed_variance = ndimage.gaussian_filter(variance, psf_sigma / np.sqrt(2), mode="nearest")
    noise = np.sqrt(np.maximum(smoothed_variance / (4 * np.pi * psf_sigma**2), 1e-12))
    return (smoothed / noise).astype(np.float32)


def find_peaks(
    significance: np.ndarray, threshold: float, psf_sigma: float, polarity: int = 1
) -> Peaks:
    """Local maxima of ``polarity * significance`` above ``threshold``, brightest first."""
    signed = significance if polarity > 0 else -significance
    window = 2 * int(np.ceil(1.5 * psf_sigma)) + 1
    is_peak = (signed >= threshold) & (
        signed == ndimage.maximum_filter(signed, size=window, mode="nearest")
    )
    y, x = np.nonzero(is_peak)
    values = signed[y, x]
    order = np.argsort(-values, kind="stable")
    return Peaks(x[order], y[order], values[order])


def footprint_mask(
    significance: np.ndarray, threshold: float, grow: int, polarity: int = 1
) -> np.ndarray:
    """Pixels above threshold, dilated by ``grow`` pixels (what background estimation avoids)."""
    signed = significance if polarity > 0 else -significance
    above = signed >= threshold
    return ndimage.binary_dilation(above, iterations=grow) if grow > 0 else above
