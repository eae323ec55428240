"""Templates: a deep, sharp coadd of the static sky, resampled onto a science CCD's pixels.

Simulated directly rather than built from earlier visits: stars at their mean magnitudes (no
transients, variables at their reference brightness), a better seeing than any science visit,
and the noise of ``depth_visits`` coadded visits. Like a real coadd it extends beyond the
CCD: ``TEMPLATE_BORDER`` pixels on every side, so PSF matching is valid up to the CCD edge.
It is background-subtracted and in the same flux units as a science visit of ``exptime``
seconds at the instrument zero point.
"""

from __future__ import annotations

import numpy as np

from dmcs.payloads.camera.camera import CameraSimulator
from dmcs.payloads.camera.exposure import Exposure
from dmcs.payloads.camera.focal_plane import PIXEL_SCALE_ARCSEC, Detector
from dmcs.payloads.characterize.psf import FWHM_PER_SIGMA, render_point_sources
from dmcs.payloads.seeds import rng_for

TEMPLATE_BORDER = 32


def simulate_template(
    simulator: CameraSimulator,
    visit: int,
    detector: Detector,
    seeing_arcsec: float,
    depth_visits: int,
) -> Exposure:
    model = simulator.model
    scene = simulator.scene(visit, detector)
    exptime = model.snap_exptime * model.snaps_per_visit
    sigma = seeing_arcsec / FWHM_PER_SIGMA / PIXEL_SCALE_ARCSEC
    flux = 10 ** (-0.4 * (scene.star_mean_mag - model.zero_point_mag)) * exptime
    size = model.detector_size + 2 * TEMPLATE_BORDER
    shape = (size, size)
    image = render_point_sources(
        shape, scene.star_x + TEMPLATE_BORDER, scene.star_y + TEMPLATE_BORDER, flux, sigma
    )
    sky = 10 ** (-0.4 * (model.sky_mag_per_arcsec2 - model.zero_point_mag)) * PIXEL_SCALE_ARCSEC**2
    pixel_variance = (sky * exptime + model.snaps_per_visit * model.read_noise_e**2) / depth_visits
    variance = image / np.float32(depth_visits)
    variance += np.float32(pixel_variance)
    rng = rng_for(simulator.seed, "template", visit, detector.index)
    noise = np.sqrt(variance)
    noise *= rng.standard_normal(shape, dtype=np.float32)
    image += noise
    metadata: dict[str, str | int | float | bool] = {
        "TEMPLATE": True,
        "PSFSIGMA": float(sigma),
        "ZP": model.zero_point_mag,
        "EXPTIME": exptime,
        "NCOADD": depth_visits,
        "BORDER": TEMPLATE_BORDER,
    }
    wcs = scene.wcs.deepcopy()
    wcs.wcs.crpix = wcs.wcs.crpix + TEMPLATE_BORDER
    wcs.pixel_shape = shape
    return Exposure(image, np.zeros(shape, np.int32), variance, wcs, metadata)
