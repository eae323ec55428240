"""Sky background: clipped medians on a coarse grid of cells, smoothly interpolated.

Every cell's samples are sorted once, side by side in one array; a clipping round then only
moves each cell's [low, high) window in its sorted samples (what |v - centre| <= t keeps of
sorted values is a contiguous run). The spline through the cell medians is evaluated as two
B-spline design matrices around the coefficient grid, one matrix product for the whole CCD.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.interpolate import BSpline, RectBivariateSpline

SAMPLES_PER_CELL_SIDE = 32
CLIP_SIGMA = 3.0
CLIP_ROUNDS = 3
MIN_KEPT = 10
MIN_USABLE_FRACTION = 0.1
MAD_TO_SIGMA = 1.4826


def _window_median(ordered: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Median of each row's ``ordered[row, low:high]`` (rows sorted, windows non-empty)."""
    rows = np.arange(len(ordered))
    count = high - low
    return 0.5 * (ordered[rows, low + (count - 1) // 2] + ordered[rows, low + count // 2])


def clipped_medians(samples: np.ndarray, n_valid: np.ndarray) -> np.ndarray:
    """Per row: the median after CLIP_ROUNDS rounds of CLIP_SIGMA x MAD clipping.

    ``samples`` rows hold ``n_valid`` values each, padded with +inf. A round whose clipping
    would keep fewer than MIN_KEPT values stops that row where it was.
    """
    ordered = np.sort(samples, axis=1)
    columns = np.arange(ordered.shape[1])
    low = np.zeros(len(ordered), dtype=np.int64)
    high = n_valid.astype(np.int64)
    active = np.ones(len(ordered), dtype=bool)
    for _ in range(CLIP_ROUNDS):
        centre = _window_median(ordered, low, high)
        inside = (columns >= low[:, None]) & (columns < high[:, None])
        deviation = np.where(inside, np.abs(ordered - centre[:, None]), np.inf)
        deviation.sort(axis=1)
        spread = MAD_TO_SIGMA * _window_median(deviation, np.zeros_like(low), high - low)
        limit = CLIP_SIGMA * np.maximum(spread, 1e-6)
        new_low = np.maximum(low, (ordered < (centre - limit)[:, None]).sum(axis=1))
        new_high = np.minimum(high, (ordered <= (centre + limit)[:, None]).sum(axis=1))
        active &= new_high - new_low >= MIN_KEPT
        low = np.where(active, new_low, low)
        high = np.where(active, new_high, high)
    return _window_median(ordered, low, high)


def _cell_samples(
    image: np.ndarray, excluded: np.ndarray, y_edges: np.ndarray, x_edges: np.ndarray, stride: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Usable samples of every cell (row-major cells, +inf padded), their counts, and totals."""
    cells = [
        (slice(y0, y1, stride), slice(x0, x1, stride))
        for y0, y1 in itertools.pairwise(y_edges)
        for x0, x1 in itertools.pairwise(x_edges)
    ]
    usable = [~excluded[cell] for cell in cells]
    n_total = np.array([mask.size for mask in usable])
    samples = np.full((len(cells), int(n_total.max())), np.inf)
    n_valid = np.empty(len(cells), dtype=np.int64)
    for index, (cell, mask) in enumerate(zip(cells, usable, strict=True)):
        values = image[cell][mask]
        samples[index, : values.size] = values
        n_valid[index] = values.size
    return samples, n_valid, n_total


def estimate_background(image: np.ndarray, excluded: np.ndarray, cell_size: int) -> np.ndarray:
    """Background image from cells of ``cell_size`` pixels, ignoring ``excluded`` pixels.

    Cells with too few usable pixels take the median of the other cells. Each cell is sampled
    on a grid of about SAMPLES_PER_CELL_SIDE^2 pixels: plenty for a median, and cheap at 4k.
    """
    ny, nx = image.shape
    y_edges = np.linspace(0, ny, max(1, round(ny / cell_size)) + 1).astype(int)
    x_edges = np.linspace(0, nx, max(1, round(nx / cell_size)) + 1).astype(int)
    shape = (len(y_edges) - 1, len(x_edges) - 1)
    stride = max(1, cell_size // SAMPLES_PER_CELL_SIDE)
    samples, n_valid, n_total = _cell_samples(image, excluded, y_edges, x_edges, stride)
    enough = (n_valid >= MIN_USABLE_FRACTION * n_total) & (n_valid > 0)
    grid = np.full(len(samples), np.nan)
    if enough.any():
        grid[enough] = clipped_medians(samples[enough], n_valid[enough])
    grid = grid.reshape(shape)
    grid = np.where(np.isfinite(grid), grid, np.nanmedian(grid))
    if grid.size == 1:
        return np.full(image.shape, grid[0, 0], dtype=np.float32)
    y_centres = (y_edges[:-1] + y_edges[1:] - 1) / 2
    x_centres = (x_edges[:-1] + x_edges[1:] - 1) / 2
    spline = RectBivariateSpline(
        y_centres, x_centres, grid, kx=min(3, shape[1] - 1), ky=min(3, shape[0] - 1)
    )
    return _evaluate_on_pixels(spline, ny, nx)


def _design_matrix(knots: np.ndarray, degree: int, size: int) -> np.ndarray:
    """B-spline basis values at pixels 0..size-1, held at the end values outside the knots.

    Holding matches fitpack's own evaluation, which clamps arguments to the knot range.
    """
    positions = np.clip(np.arange(size, dtype=np.float64), knots[degree], knots[-degree - 1])
    return BSpline.design_matrix(positions, knots, degree).toarray()


def _evaluate_on_pixels(spline: RectBivariateSpline, ny: int, nx: int) -> np.ndarray:
    y_knots, x_knots = spline.get_knots()
    ky, kx = spline.degrees
    coefficients = spline.get_coeffs().reshape(len(y_knots) - ky - 1, len(x_knots) - kx - 1)
    rows = (_design_matrix(y_knots, ky, ny) @ coefficients).astype(np.float32)
    return rows @ _design_matrix(x_knots, kx, nx).T.astype(np.float32)
