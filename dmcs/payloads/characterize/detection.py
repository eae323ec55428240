"""Source detection: PSF-matched filtering, thresholding in significance, one peak per maximum.

The significance of a pixel is the PSF-smoothed image over its exact noise, sqrt of the variance
smoothed by the squared kernel; with a Gaussian kernel of width s the squared kernel is a
Gaussian of width s/sqrt(2) scaled by 1/(4 pi s^2). This handles spatially varying noise, and
with zeros beyond the image both sums cover the same pixels, so it stays exact at the edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from dmcs.payloads.characterize.smoothing import gaussian_smooth

#: Above one candidate pixel in this many, whole shifted images beat pixel-by-pixel checks.
DENSE_FRACTION = 64


@dataclass(frozen=True)
class Peaks:
    x: np.ndarray
    y: np.ndarray
    significance: np.ndarray


def significance_map(image: np.ndarray, variance: np.ndarray, psf_sigma: float) -> np.ndarray:
    smoothed = gaussian_smooth(image, psf_sigma)
    noise = gaussian_smooth(variance, psf_sigma / np.sqrt(2))
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
    above = significance >= threshold if polarity > 0 else significance <= -threshold
    y, x = np.nonzero(above)
    values = polarity * significance[y, x]
    if len(y) * DENSE_FRACTION > above.size:
        is_peak = _local_maxima(significance if polarity > 0 else -significance)[y, x]
    else:
        is_peak = _above_neighbours(significance, y, x, values, polarity)
    y, x, values = y[is_peak], x[is_peak], values[is_peak]
    order = np.argsort(-values, kind="stable")
    y, x, values = y[order], x[order], values[order]
    keep = np.ones(len(y), dtype=bool)
    if len(y) > 1:
        for i, j in sorted(cKDTree(np.column_stack([x, y])).query_pairs(1.5 * psf_sigma)):
            if keep[i]:
                keep[j] = False
    return Peaks(x[keep], y[keep], values[keep])


def _above_neighbours(
    significance: np.ndarray, y: np.ndarray, x: np.ndarray, values: np.ndarray, polarity: int
) -> np.ndarray:
    """Whether each pixel (y, x) is at least as high as its eight neighbours, pixel by pixel
    (for few candidates; beyond the edge the clipped index is the pixel or a neighbour)."""
    is_peak = np.ones(len(y), dtype=bool)
    last_row, last_column = significance.shape[0] - 1, significance.shape[1] - 1
    for dy in (-1, 0, 1):
        rows = np.clip(y + dy, 0, last_row)
        for dx in (-1, 0, 1):
            if dy or dx:
                columns = np.clip(x + dx, 0, last_column)
                is_peak &= values >= polarity * significance[rows, columns]
    return is_peak


def _local_maxima(image: np.ndarray) -> np.ndarray:
    """Pixels at least as high as each of their eight neighbours (none beyond the edges).

    The 3x3 maximum is taken as a maximum over row neighbours, then over column neighbours,
    with shifted whole-image slices.
    """
    across = image.copy()
    np.maximum(across[:, 1:], image[:, :-1], out=across[:, 1:])
    np.maximum(across[:, :-1], image[:, 1:], out=across[:, :-1])
    around = across.copy()
    np.maximum(around[1:], across[:-1], out=around[1:])
    np.maximum(around[:-1], across[1:], out=around[:-1])
    return image >= around


def footprint_mask(
    significance: np.ndarray, threshold: float, grow: int, polarity: int = 1
) -> np.ndarray:
    """Pixels above threshold, dilated by ``grow`` pixels (what background estimation avoids)."""
    above = significance >= threshold if polarity > 0 else significance <= -threshold
    return grow_mask(above, grow)


def grow_mask(mask: np.ndarray, grow: int) -> np.ndarray:
    """``mask`` dilated ``grow`` times by the 4-neighbour cross (ndimage's default structure).

    Shifted ORs of whole rows and columns: a tenth of ``ndimage.binary_dilation``'s time at 4k.
    """
    grown = mask
    for _ in range(grow):
        previous, grown = grown, grown.copy()
        grown[1:] |= previous[:-1]
        grown[:-1] |= previous[1:]
        grown[:, 1:] |= previous[:, :-1]
        grown[:, :-1] |= previous[:, 1:]
    return grown
