"""The point-spread function: a circular Gaussian, integrated over pixels.

The same profile renders simulated stars and serves as the model for PSF photometry, so a
measured flux is the injected flux when the PSF width is right.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erf

FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
#: Sources per rendering chunk: their stamps and the band of rows they cover stay small.
RENDER_CHUNK = 1024


def pixel_integrated_gaussian(offsets: np.ndarray, sigma: float | np.ndarray) -> np.ndarray:
    """1-D Gaussian integrated over unit pixels whose centres sit at ``offsets`` from the mean."""
    scale = 1.0 / (np.sqrt(2.0) * sigma)
    return 0.5 * (erf((offsets + 0.5) * scale) - erf((offsets - 0.5) * scale))


def psf_stamps(dx: np.ndarray, dy: np.ndarray, sigma: float, half_width: int) -> np.ndarray:
    """Unit-flux PSF images, shape (n, 2h+1, 2h+1), of sources offset (dx, dy) from the centres."""
    grid = np.arange(-half_width, half_width + 1, dtype=np.float64)
    profile_x = pixel_integrated_gaussian(grid[None, :] - dx[:, None], sigma)
    profile_y = pixel_integrated_gaussian(grid[None, :] - dy[:, None], sigma)
    return profile_y[:, :, None] * profile_x[:, None, :]


def render_point_sources(
    shape: tuple[int, int], x: np.ndarray, y: np.ndarray, flux: np.ndarray, sigma: float
) -> np.ndarray:
    """A float32 image of point sources (flux in the image's units) on a zero background.

    Sources are drawn RENDER_CHUNK at a time in order of rows, so each chunk's stamps are
    summed (``bincount``) over only the band of rows it covers, not over the whole image.
    """
    half_width = int(np.ceil(6 * sigma))
    image = np.zeros(shape[0] * shape[1], dtype=np.float32)
    x_centre, y_centre = np.round(x).astype(np.int64), np.round(y).astype(np.int64)
    offsets = np.arange(-half_width, half_width + 1)
    by_row = np.argsort(y_centre, kind="stable")
    for chunk in np.array_split(by_row, max(1, -(-len(x) // RENDER_CHUNK))):
        stamps = psf_stamps(
            x[chunk] - x_centre[chunk], y[chunk] - y_centre[chunk], sigma, half_width
        )
        stamps *= flux[chunk, None, None]
        rows = y_centre[chunk, None, None] + offsets[None, :, None]
        cols = x_centre[chunk, None, None] + offsets[None, None, :]
        inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
        flat_index = (rows * shape[1] + cols)[inside]
        if flat_index.size == 0:
            continue
        first = int(flat_index.min())
        band = np.bincount(flat_index - first, weights=stamps[inside])
        image[first : first + band.size] += band
    return image.reshape(shape)


def adaptive_sigma(
    stamps: np.ndarray, dx: np.ndarray, dy: np.ndarray, iterations: int = 12
) -> np.ndarray:
    """Gaussian width of each background-free stamp (source at offset dx, dy from its centre).

    With a Gaussian weight matched to the source, the weighted second moment is sigma^2 / 2;
    the 1/12 pixel^2 added by pixel integration is removed so the result is the PSF's sigma.
    """
    half_width = stamps.shape[1] // 2
    grid = np.arange(-half_width, half_width + 1, dtype=np.float64)
    r2 = (grid[None, None, :] - dx[:, None, None]) ** 2 + (
        grid[None, :, None] - dy[:, None, None]
    ) ** 2
    sigma = np.full(len(stamps), 2.0)
    for _ in range(iterations):
        weight = np.exp(-r2 / (2 * sigma[:, None, None] ** 2)) * stamps
        moment = (weight * r2).sum(axis=(1, 2)) / (2 * weight.sum(axis=(1, 2)))
        sigma = np.sqrt(np.clip(2 * moment, 0.25, 100.0))
    return np.sqrt(np.maximum(sigma**2 - 1.0 / 12.0, 0.01))
