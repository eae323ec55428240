"""Source measurement on stamps: Gaussian-weighted centroids, PSF fluxes, flags.

Flags are the mask bits (BAD, SAT, CR, EDGE) found in a source's core, plus TRUNCATED.

All sources are measured at once on (n, k, k) stamp stacks. The centroid is the fixed point of
a Gaussian-weighted first moment re-centred each iteration (unbiased for symmetric sources);
the PSF flux is the linear least-squares amplitude of the pixel-integrated PSF at that centroid.
"""

from __future__ import annotations

import numpy as np

from dmcs.payloads.camera.exposure import MaskBit
from dmcs.payloads.characterize.psf import psf_stamps

SOURCE_DTYPE = np.dtype(
    [
        ("x", "f8"),
        ("y", "f8"),
        ("psf_flux", "f8"),
        ("psf_flux_err", "f8"),
        ("snr", "f8"),
        ("significance", "f8"),
        ("flags", "i4"),
    ]
)
FLAG_BITS = int(MaskBit.BAD | MaskBit.SAT | MaskBit.CR | MaskBit.EDGE)
TRUNCATED = 64  # source flag (not a mask bit): the stamp runs off the image
MAX_CENTROID_SHIFT = 2.0


def stamp_half_width(psf_sigma: float) -> int:
    return max(3, int(np.ceil(3 * psf_sigma)))


def stamp_index(
    shape: tuple[int, ...], x: np.ndarray, y: np.ndarray, half_width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices of (2h+1)^2 stamps centred on integer pixels (x, y), clipped to the plane,
    and whether each stamp pixel is inside it; one index serves every plane of an exposure."""
    offsets = np.arange(-half_width, half_width + 1)
    rows = y[:, None, None] + offsets[None, :, None]
    cols = x[:, None, None] + offsets[None, None, :]
    inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
    index = np.clip(rows, 0, shape[0] - 1) * shape[1] + np.clip(cols, 0, shape[1] - 1)
    return index, inside


def take_stamps(
    plane: np.ndarray, index: np.ndarray, inside: np.ndarray, fill: float = 0.0
) -> np.ndarray:
    values = np.take(plane.reshape(-1), index)
    return values if inside.all() else np.where(inside, values, fill)


def extract_stamps(
    plane: np.ndarray, x: np.ndarray, y: np.ndarray, half_width: int, fill: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Stamps of ``plane`` centred on integer pixels (x, y); also whether each pixel is inside."""
    index, inside = stamp_index(plane.shape, x, y, half_width)
    return take_stamps(plane, index, inside, fill), inside


def measure_sources(
    image: np.ndarray,
    variance: np.ndarray,
    mask: np.ndarray,
    x_peak: np.ndarray,
    y_peak: np.ndarray,
    psf_sigma: float,
    polarity: int = 1,
) -> np.ndarray:
    """Centroid, PSF flux (signed), error and flags of sources at integer peak positions."""
    half = stamp_half_width(psf_sigma)
    x_peak = np.asarray(x_peak, dtype=np.int64)
    y_peak = np.asarray(y_peak, dtype=np.int64)
    index, inside = stamp_index(image.shape, x_peak, y_peak, half)
    data = take_stamps(image, index, inside)
    var = take_stamps(variance, index, inside)
    grid = np.arange(-half, half + 1, dtype=np.float64)
    dx, dy = _centroid(polarity * data, grid, psf_sigma)
    model = psf_stamps(dx, dy, psf_sigma, half) * inside
    norm = (model**2).sum(axis=(1, 2))
    flux = (data * model).sum(axis=(1, 2)) / norm
    error = np.sqrt((var * model**2).sum(axis=(1, 2))) / norm
    core = (grid[None, :] ** 2 + grid[:, None] ** 2) <= max(2.0, psf_sigma) ** 2
    core_bits = take_stamps(mask, index[:, core], inside[:, core], 0)
    flags = np.bitwise_or.reduce(core_bits.astype(np.int64), axis=1)
    flags &= FLAG_BITS
    flags |= np.where(inside.all(axis=(1, 2)), 0, TRUNCATED)
    result = np.zeros(len(x_peak), dtype=SOURCE_DTYPE)
    result["x"] = x_peak + dx
    result["y"] = y_peak + dy
    result["psf_flux"] = flux
    result["psf_flux_err"] = error
    result["snr"] = flux / error * polarity
    result["flags"] = flags
    return result


def _centroid(
    data: np.ndarray, grid: np.ndarray, psf_sigma: float, iterations: int = 6
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian-weighted first moments, re-centred each iteration.

    The Gaussian weight is separable, so each iteration sums the stamp's rows against the x
    weights (one batched matrix product) and then the row sums against the y weights.
    """
    dx = np.zeros(len(data))
    dy = np.zeros(len(data))
    positive = np.clip(data, 0, None)
    scale = -1.0 / (2 * psf_sigma**2)
    for _ in range(iterations):
        u = grid[None, :] - dx[:, None]
        v = grid[None, :] - dy[:, None]
        weight_x = np.exp(u**2 * scale)
        weight_y = np.exp(v**2 * scale)
        row_sums = positive @ np.stack([weight_x, weight_x * u], axis=2)
        total = (weight_y * row_sums[:, :, 0]).sum(axis=1)
        safe = np.where(total > 0, total, 1.0)
        shift_x = (weight_y * row_sums[:, :, 1]).sum(axis=1) / safe
        shift_y = (weight_y * v * row_sums[:, :, 0]).sum(axis=1) / safe
        dx = np.clip(dx + np.where(total > 0, shift_x, 0), -MAX_CENTROID_SHIFT, MAX_CENTROID_SHIFT)
        dy = np.clip(dy + np.where(total > 0, shift_y, 0), -MAX_CENTROID_SHIFT, MAX_CENTROID_SHIFT)
    return dx, dy
