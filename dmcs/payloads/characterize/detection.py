"""Source detection: PSF-matched filtering, thresholding in significance, one peak per maximum.

The significance of a pixel is the PSF-smoothed image over its exact noise, sqrt of the variance
smoothed by the squared kernel; with a Gaussian kernel of width s the squared kernel is a
Gaussian of width s/sqrt(2) scaled by 1/(4 pi s^2). This handles spatially varying noise, and
with zeros beyond the image both sums cover the same pixels, so it stays exact at the edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree


@dataclass(frozen=True)
class Peaks:
    x: np.ndarray
    y: np.ndarray
    significance: np.ndarray


def significance_map(image: np.ndarray, variance: np.ndarray, psf_sigma: float) -> np.ndarray:
    smoothed = ndimage.gaussian_filter(image, psf_sigma, mode="constant", truncate=3.5)
    noise = ndimage.gaussian_filter(variance, psf_sigma / np.sqrt(2), mode="constant", truncate=3.5)
    noise *= np.float32(1 / (4 * np.pi * psf_sigma**2))
    np.maximum(noise, np.float32(1e-12), out=noise)
    np.sqrt(noise, out=noise)
    smoothed /= noise
    return smoothed


def find_peaks(
    significance: np.ndarray, threshold: float, psf_sigma: float, polarity: int = 1
) -> Peaks:
    """Local maxima of ``polarity * significance`` above ``threshold``, brightest first.

    A peak is above its eight neighbours; of peaks closer than 1.5 PSF sigma only the
    brightest is kept (the map is PSF-smoothed, so closer peaks are one source).
    """
    signed = np.pad(significance if polarity > 0 else -significance, 1, constant_values=-np.inf)
    y, x = np.nonzero(signed >= threshold)
    values = signed[y, x]
    is_peak = np.ones(len(y), dtype=bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                is_peak &= values >= signed[y + dy, x + dx]
    y, x, values = y[is_peak] - 1, x[is_peak] - 1, values[is_peak]
    order = np.argsort(-values, kind="stable")
    y, x, values = y[order], x[order], values[order]
    keep = np.ones(len(y), dtype=bool)
    if len(y) > 1:
        for i, j in sorted(cKDTree(np.column_stack([x, y])).query_pairs(1.5 * psf_sigma)):
            if keep[i]:
                keep[j] = False
    return Peaks(x[keep], y[keep], values[keep])


def footprint_mask(
    significance: np.ndarray, threshold: float, grow: int, polarity: int = 1
) -> np.ndarray:
    """Pixels above threshold, dilated by ``grow`` pixels (what background estimation avoids)."""
    signed = significance if polarity > 0 else -significance
    above = signed >= threshold
    return ndimage.binary_dilation(above, iterations=grow) if grow > 0 else above
