"""Sky background: clipped medians on a coarse grid of cells, smoothly interpolated."""

from __future__ import annotations

import numpy as np
from scipy.interpolate import RectBivariateSpline

SAMPLES_PER_CELL_SIDE = 32


def _clipped_median(values: np.ndarray, nsigma: float = 3.0, iterations: int = 3) -> float:
    for _ in range(iterations):
        centre = np.median(values)
        spread = 1.4826 * np.median(np.abs(values - centre))
        kept = values[np.abs(values - centre) <= nsigma * max(spread, 1e-6)]
        if kept.size < 10:
            break
        values = kept
    return float(np.median(values))


def estimate_background(image: np.ndarray, excluded: np.ndarray, cell_size: int) -> np.ndarray:
    """Background image from cells of ``cell_size`` pixels, ignoring ``excluded`` pixels.

    Cells with too few usable pixels take the median of the other cells. Each cell is sampled
    on a grid of about SAMPLES_PER_CELL_SIDE^2 pixels: plenty for a median, and cheap at 4k.
    """
    ny, nx = image.shape
    y_edges = np.linspace(0, ny, max(1, round(ny / cell_size)) + 1).astype(int)
    x_edges = np.linspace(0, nx, max(1, round(nx / cell_size)) + 1).astype(int)
    grid = np.full((len(y_edges) - 1, len(x_edges) - 1), np.nan)
    stride = max(1, cell_size // SAMPLES_PER_CELL_SIDE)
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            rows = slice(y_edges[i], y_edges[i + 1], stride)
            cols = slice(x_edges[j], x_edges[j + 1], stride)
            cell = image[rows, cols]
            usable = ~excluded[rows, cols]
            if usable.sum() >= 0.1 * usable.size:
                grid[i, j] = _clipped_median(cell[usable])
    grid = np.where(np.isfinite(grid), grid, np.nanmedian(grid))
    if grid.size == 1:
        return np.full(image.shape, grid[0, 0], dtype=np.float32)
    y_centres = (y_edges[:-1] + y_edges[1:] - 1) / 2
    x_centres = (x_edges[:-1] + x_edges[1:] - 1) / 2
    spline = RectBivariateSpline(
        y_centres, x_centres, grid, kx=min(3, grid.shape[1] - 1), ky=min(3, grid.shape[0] - 1)
    )
    return spline(np.arange(ny), np.arange(nx)).astype(np.float32)
