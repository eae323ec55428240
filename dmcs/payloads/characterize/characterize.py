"""Single-frame characterization: background, detection, PSF size, astrometry, zero point.

Order matters: a first detection masks sources out of the background estimate; detection and
measurement are repeated with the measured PSF width; bright, clean, matched stars calibrate
the WCS and the zero point. The calibrated exposure is returned background-subtracted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dmcs.payloads.camera.exposure import Exposure, MaskBit
from dmcs.payloads.camera.focal_plane import PIXEL_SCALE_ARCSEC
from dmcs.payloads.characterize.astrometry import AstrometricSolution, fit_wcs
from dmcs.payloads.characterize.detection import find_peaks, footprint_mask, significance_map
from dmcs.payloads.characterize.measurement import (
    SOURCE_DTYPE,
    extract_stamps,
    measure_sources,
    stamp_half_width,
)
from dmcs.payloads.characterize.photometry import ZeroPoint, fit_zero_point
from dmcs.payloads.characterize.psf import FWHM_PER_SIGMA, adaptive_sigma
from dmcs.payloads.isr.background import estimate_background
from dmcs.payloads.science_limit import ScienceLimitError

INITIAL_PSF_SIGMA = 2.0
PSF_STAR_SNR = (50.0, 2000.0)
MAX_PSF_STARS = 200
CALIBRATED_SOURCE_DTYPE = np.dtype(
    [*SOURCE_DTYPE.descr, ("ra", "f8"), ("dec", "f8"), ("mag", "f8"), ("refmatch", "i2")]
)


@dataclass(frozen=True)
class ReferenceCatalog:
    """Astrometric and photometric reference stars (positions in degrees, magnitudes)."""

    ra: np.ndarray
    dec: np.ndarray
    mag: np.ndarray


@dataclass(frozen=True)
class Characterization:
    exposure: Exposure
    sources: np.ndarray
    psf_sigma: float
    astrometry: AstrometricSolution
    zero_point: ZeroPoint


def _detect_and_measure(exposure: Exposure, psf_sigma: float, threshold: float) -> np.ndarray:
    significance = significance_map(exposure.image, exposure.variance, psf_sigma)
    peaks = find_peaks(significance, threshold, psf_sigma)
    sources = measure_sources(
        exposure.image, exposure.variance, exposure.mask, peaks.x, peaks.y, psf_sigma
    )
    sources["significance"] = peaks.significance
    return sources


def measure_psf_sigma(exposure: Exposure, sources: np.ndarray) -> float:
    """Median adaptive-moment width of bright, unflagged stars."""
    candidates = sources[
        (sources["flags"] == 0)
        & (sources["snr"] > PSF_STAR_SNR[0])
        & (sources["snr"] < PSF_STAR_SNR[1])
    ]
    candidates = candidates[:MAX_PSF_STARS]
    if len(candidates) < 3:
        raise ScienceLimitError(
            f"characterize: only {len(candidates)} stars bright enough to measure the PSF"
        )
    x = np.rint(candidates["x"]).astype(np.int64)
    y = np.rint(candidates["y"]).astype(np.int64)
    half = stamp_half_width(4.0)
    stamps, _ = extract_stamps(exposure.image, x, y, half)
    sigma = adaptive_sigma(stamps, candidates["x"] - x, candidates["y"] - y)
    return float(np.median(sigma))


def characterize(
    exposure: Exposure, reference: ReferenceCatalog, threshold: float, background_cell: int
) -> Characterization:
    unusable = (exposure.mask & int(MaskBit.BAD | MaskBit.SAT | MaskBit.CR)) != 0
    first_background = estimate_background(exposure.image, unusable, background_cell)
    first_image = exposure.image - first_background
    significance = significance_map(first_image, exposure.variance, INITIAL_PSF_SIGMA)
    detected = footprint_mask(significance, threshold, grow=int(3 * INITIAL_PSF_SIGMA))
    bright = find_peaks(significance, PSF_STAR_SNR[0], INITIAL_PSF_SIGMA)
    bright_stars = measure_sources(
        first_image, exposure.variance, exposure.mask, bright.x, bright.y, INITIAL_PSF_SIGMA
    )
    background = estimate_background(exposure.image, unusable | detected, background_cell)
    image = np.subtract(exposure.image, background, out=first_image)
    mask = exposure.mask.copy()
    np.bitwise_or(mask, np.int32(MaskBit.DET), out=mask, where=detected)
    calexp = Exposure(image, mask, exposure.variance, exposure.wcs, dict(exposure.metadata))

    psf_sigma = measure_psf_sigma(calexp, bright_stars)
    sources = _detect_and_measure(calexp, psf_sigma, threshold)
    if exposure.wcs is None:
        raise ValueError("characterize: exposure has no initial WCS")
    clean = np.nonzero((sources["flags"] == 0) & (sources["snr"] >= 10))[0]
    solution = fit_wcs(
        sources["x"][clean], sources["y"][clean], reference.ra, reference.dec, exposure.wcs
    )
    matched = clean[solution.source_index]
    exptime = float(exposure.metadata["EXPTIME"])
    zero_point = fit_zero_point(
        sources["psf_flux"][matched],
        sources["psf_flux_err"][matched],
        reference.mag[solution.reference_index],
        exptime,
    )
    calexp.wcs = solution.wcs
    calexp.metadata |= {
        "BGMEAN": float(np.mean(background)),
        "PSFSIGMA": psf_sigma,
        "SEEING": psf_sigma * FWHM_PER_SIGMA * PIXEL_SCALE_ARCSEC,
        "ZP": zero_point.value,
        "ZPERR": zero_point.error,
        "ASTRMS": solution.rms_arcsec,
        "NASTMTCH": solution.n_matched,
    }
    calibrated = _calibrated(sources, calexp, zero_point, exptime, matched)
    return Characterization(calexp, calibrated, psf_sigma, solution, zero_point)


def _calibrated(
    sources: np.ndarray,
    calexp: Exposure,
    zero_point: ZeroPoint,
    exptime: float,
    matched: np.ndarray,
) -> np.ndarray:
    """Sources with sky position, magnitude and whether they matched a reference star."""
    assert calexp.wcs is not None
    ra, dec = calexp.wcs.all_pix2world(sources["x"], sources["y"], 0)
    positive = np.where(sources["psf_flux"] > 0, sources["psf_flux"], np.nan)
    mag = zero_point.value - 2.5 * np.log10(positive / exptime)
    calibrated = np.zeros(len(sources), dtype=CALIBRATED_SOURCE_DTYPE)
    for name in sources.dtype.names or ():
        calibrated[name] = sources[name]
    calibrated["ra"], calibrated["dec"], calibrated["mag"] = ra, dec, mag
    calibrated["refmatch"][matched] = 1
    return calibrated
