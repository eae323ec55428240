"""Scoring a CCD's results against what the simulator injected.

Reported by the alert-production payload and asserted by the tests: completeness for injected
changes (transients and variable stars) above a signal-to-noise cut, false DIASources, the
fitted WCS's error against the true WCS, and the zero-point error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.wcs import WCS
from scipy.spatial import cKDTree

from dmcs.payloads.camera.camera import SceneTruth

MATCH_RADIUS_PIXELS = 2.5
WCS_GRID_POINTS = 9


@dataclass(frozen=True)
class TruthScore:
    n_injected_above_cut: int
    n_recovered_above_cut: int
    n_false: int
    astrometric_error_arcsec: float
    zero_point_error_mag: float

    def as_dict(self) -> dict[str, float | int]:
        return {
            "n_injected_above_10sigma": self.n_injected_above_cut,
            "n_recovered_above_10sigma": self.n_recovered_above_cut,
            "n_false_diasources": self.n_false,
            "astrometric_error_arcsec": self.astrometric_error_arcsec,
            "zero_point_error_mag": self.zero_point_error_mag,
        }


def expected_difference_snr(
    flux_e: np.ndarray, psf_sigma: float, noise_variance: float
) -> np.ndarray:
    """S/N of a PSF-fit flux change on a difference image with per-pixel noise variance."""
    effective_area = 4 * np.pi * psf_sigma**2
    return np.abs(flux_e) / np.sqrt(np.abs(flux_e) + effective_area * noise_variance)


def changed_sources(scene: SceneTruth, exptime: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel positions and flux change (e-) of everything that differs from the template."""
    star_delta = (
        scene.flux_e_per_s(scene.star_mag) - scene.flux_e_per_s(scene.star_mean_mag)
    ) * exptime
    varying = star_delta != 0
    x = np.concatenate([scene.transient_x, scene.star_x[varying]])
    y = np.concatenate([scene.transient_y, scene.star_y[varying]])
    delta = np.concatenate([scene.flux_e_per_s(scene.transient_mag) * exptime, star_delta[varying]])
    return x, y, delta


def _matched(points: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Whether each point has a target within the match radius."""
    if len(points) == 0 or len(targets) == 0:
        return np.zeros(len(points), dtype=bool)
    distance, _ = cKDTree(targets).query(points, distance_upper_bound=MATCH_RADIUS_PIXELS)
    return np.isfinite(distance)


def wcs_error_arcsec(fitted: WCS, true: WCS, size: int) -> float:
    """RMS separation between two WCSs over a grid spanning the CCD."""
    points = np.linspace(0, size - 1, WCS_GRID_POINTS)
    grid_y, grid_x = (g.ravel() for g in np.meshgrid(points, points, indexing="ij"))
    true_ra, true_dec = true.all_pix2world(grid_x, grid_y, 0)
    fit_ra, fit_dec = fitted.all_pix2world(grid_x, grid_y, 0)
    separation = (
        np.hypot((fit_ra - true_ra) * np.cos(np.deg2rad(true_dec)), fit_dec - true_dec) * 3600
    )
    return float(np.sqrt(np.mean(separation**2)))


def score(
    scene: SceneTruth,
    dia_sources: np.ndarray,
    noise_variance: float,
    exptime: float,
    zero_point: float,
    fitted_wcs: WCS,
    size: int,
    cut: float = 10.0,
) -> TruthScore:
    x, y, delta = changed_sources(scene, exptime)
    snr = expected_difference_snr(delta, scene.conditions.psf_sigma_pixels, noise_variance)
    inside = (x >= 0) & (x < size) & (y >= 0) & (y < size)
    changes = np.column_stack([x, y])
    detections = np.column_stack([dia_sources["x"], dia_sources["y"]])
    found = _matched(changes, detections)
    real = _matched(detections, changes)
    above = inside & (snr >= cut)
    return TruthScore(
        int(above.sum()),
        int((above & found).sum()),
        int((~real).sum()),
        wcs_error_arcsec(fitted_wcs, scene.wcs, size),
        zero_point - scene.conditions.zero_point_mag,
    )
