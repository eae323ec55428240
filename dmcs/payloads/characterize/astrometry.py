"""Astrometric calibration: match detections to the reference catalog, fit a TAN WCS.

The telemetry WCS is off by the pointing error, so the offset is found first by voting over all
source-reference pairs within a search radius; then nearest neighbours are matched and an affine
map from pixels to the gnomonic plane about the reported boresight is fitted by least squares
with iterative 3-sigma rejection. That affine map is exactly a TAN WCS's CRPIX and CD matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.wcs import WCS
from scipy.spatial import cKDTree

from dmcs.payloads.camera.focal_plane import PIXEL_SCALE_ARCSEC
from dmcs.payloads.science_limit import ScienceLimitError

MIN_MATCHES = 6


@dataclass(frozen=True)
class AstrometricSolution:
    wcs: WCS
    n_matched: int
    rms_arcsec: float
    source_index: np.ndarray
    reference_index: np.ndarray


def gnomonic(
    ra: np.ndarray, dec: np.ndarray, ra0: float, dec0: float
) -> tuple[np.ndarray, np.ndarray]:
    """Standard coordinates (xi, eta) in degrees of points about the tangent point (ra0, dec0)."""
    ra_r, dec_r = np.deg2rad(ra), np.deg2rad(dec)
    ra0_r, dec0_r = np.deg2rad(ra0), np.deg2rad(dec0)
    cos_c = np.sin(dec0_r) * np.sin(dec_r) + np.cos(dec0_r) * np.cos(dec_r) * np.cos(ra_r - ra0_r)
    xi = np.cos(dec_r) * np.sin(ra_r - ra0_r) / cos_c
    eta = (
        np.cos(dec0_r) * np.sin(dec_r) - np.sin(dec0_r) * np.cos(dec_r) * np.cos(ra_r - ra0_r)
    ) / cos_c
    return np.rad2deg(xi), np.rad2deg(eta)


def _vote_offset(src: np.ndarray, ref: np.ndarray, search_px: float) -> np.ndarray:
    """The (dx, dy) shift from references to sources supported by the most pairs."""
    pairs = cKDTree(ref).sparse_distance_matrix(cKDTree(src), search_px, output_type="ndarray")
    offsets = src[pairs["j"]] - ref[pairs["i"]]
    if len(offsets) == 0:
        raise ScienceLimitError("astrometry: no reference stars near any detected source")
    edges = np.arange(-search_px, search_px + 1.0, 1.0)
    counts, _, _ = np.histogram2d(offsets[:, 0], offsets[:, 1], bins=(edges, edges))
    i, j = np.unravel_index(np.argmax(counts), counts.shape)
    centre = np.array([edges[i] + 0.5, edges[j] + 0.5])
    near = np.linalg.norm(offsets - centre, axis=1) < 1.5
    return np.asarray(np.median(offsets[near], axis=0))


def fit_wcs(
    x: np.ndarray,
    y: np.ndarray,
    ref_ra: np.ndarray,
    ref_dec: np.ndarray,
    initial: WCS,
    match_radius_arcsec: float = 1.0,
    search_radius_arcsec: float = 15.0,
) -> AstrometricSolution:
    """Refined TAN WCS from source pixel positions and reference sky positions."""
    ref_x, ref_y = initial.all_world2pix(ref_ra, ref_dec, 0)
    src = np.column_stack([x, y])
    ref = np.column_stack([ref_x, ref_y])
    shift = _vote_offset(src, ref, search_radius_arcsec / PIXEL_SCALE_ARCSEC)
    distance, nearest = cKDTree(src).query(
        ref + shift, distance_upper_bound=match_radius_arcsec / PIXEL_SCALE_ARCSEC
    )
    matched_ref = np.nonzero(np.isfinite(distance))[0]
    matched_src = nearest[matched_ref]
    ra0, dec0 = (float(v) for v in initial.wcs.crval)
    xi, eta = gnomonic(ref_ra[matched_ref], ref_dec[matched_ref], ra0, dec0)
    design = np.column_stack([x[matched_src], y[matched_src], np.ones(len(matched_src))])
    target = np.column_stack([xi, eta])
    keep = np.ones(len(matched_src), dtype=bool)
    for _ in range(4):
        if keep.sum() < MIN_MATCHES:
            raise ScienceLimitError(
                f"astrometry: only {int(keep.sum())} matched stars, need {MIN_MATCHES}"
            )
        coefficients, *_ = np.linalg.lstsq(design[keep], target[keep], rcond=None)
        residual = np.linalg.norm(design @ coefficients - target, axis=1) * 3600
        rms = float(np.sqrt(np.mean(residual[keep] ** 2)))
        keep = residual <= max(3 * rms, 0.02)
    cd = coefficients[:2].T
    crpix = -np.linalg.solve(cd, coefficients[2])
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = list(initial.wcs.ctype)
    wcs.wcs.crval = [ra0, dec0]
    wcs.wcs.crpix = crpix + 1
    wcs.wcs.cd = cd
    wcs.pixel_shape = initial.pixel_shape
    rms = float(np.sqrt(np.mean(residual[keep] ** 2)))
    return AstrometricSolution(wcs, int(keep.sum()), rms, matched_src[keep], matched_ref[keep])
