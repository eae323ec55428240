"""Camera simulator: raw CCD exposures as the camera reads them out.

A raw exposure is 16 amplifier segments (2 rows x 8 columns), each with its own gain, bias
level and read noise, read out from its own corner (so segments arrive flipped) and followed by
serial-overscan columns. The scene is electrons from sky, stars (Gaussian PSF, per-visit seeing)
and transients, shaped by the detector's flat field and dark current, plus cosmic rays that
differ between snaps. Every draw comes from a stream keyed by (visit, detector, snap).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from astropy.wcs import WCS

from dmcs.payloads.camera.focal_plane import PIXEL_SCALE_ARCSEC, Detector, FocalPlane, Pointing
from dmcs.payloads.camera.sky import SkyRegion, SyntheticSky
from dmcs.payloads.characterize.psf import FWHM_PER_SIGMA, render_point_sources
from dmcs.payloads.seeds import rng_for

AMP_ROWS = 2
AMP_COLUMNS = 8
ADC_MAX = 2**18 - 1
EDGE_MARGIN_ARCSEC = 10.0
FLAT_ILLUMINATION_E = 20_000.0


@dataclass(frozen=True)
class CameraModel:
    """Nominal properties of the camera and site used by the simulator."""

    detector_size: int = 512
    overscan_columns: int = 32
    gain_e_per_adu: float = 1.7
    read_noise_e: float = 6.0
    bias_level_adu: float = 5000.0
    full_well_e: float = 100_000.0
    dark_current_e_per_s: float = 0.3
    snap_exptime: float = 15.0
    snaps_per_visit: int = 2
    zero_point_mag: float = 28.0
    sky_mag_per_arcsec2: float = 21.0
    seeing_fwhm_range_arcsec: tuple[float, float] = (0.7, 1.2)
    transparency_scatter_mag: float = 0.05
    cosmic_rays_per_megapixel_per_s: float = 2.0
    pointing_error_arcsec: float = 2.0
    field_ra: float = 150.0
    field_dec: float = 2.0
    dither_arcsec: float = 20.0

    @property
    def amp_width(self) -> int:
        return self.detector_size // AMP_COLUMNS

    @property
    def amp_height(self) -> int:
        return self.detector_size // AMP_ROWS

    def amp_slices(self, amp: int) -> tuple[slice, slice]:
        """Where amplifier ``amp`` lands in the assembled, trimmed image (rows, columns)."""
        row, col = divmod(amp, AMP_COLUMNS)
        return (
            slice(row * self.amp_height, (row + 1) * self.amp_height),
            slice(col * self.amp_width, (col + 1) * self.amp_width),
        )

    @staticmethod
    def amp_flips(amp: int) -> tuple[bool, bool]:
        """Whether an amplifier reads out flipped in y and in x (it reads from its own corner)."""
        row, col = divmod(amp, AMP_COLUMNS)
        return row == 1, col >= AMP_COLUMNS // 2


@dataclass(frozen=True)
class DetectorSignature:
    """The instrument signature of one CCD: what bias, dark and flat calibrations must recover."""

    gains: np.ndarray
    read_noise_e: np.ndarray
    bias_structure_e: np.ndarray
    dark_current_e_per_s: np.ndarray
    flat: np.ndarray
    bad_pixels: np.ndarray


@dataclass(frozen=True)
class VisitConditions:
    """Per-visit observing conditions; ``pointing`` is true, ``reported_pointing`` is telemetry."""

    visit: int
    pointing: Pointing
    reported_pointing: Pointing
    seeing_fwhm_arcsec: float
    zero_point_mag: float
    sky_e_per_pixel_per_s: float

    @property
    def psf_sigma_pixels(self) -> float:
        return self.seeing_fwhm_arcsec / FWHM_PER_SIGMA / PIXEL_SCALE_ARCSEC


@dataclass(frozen=True)
class SceneTruth:
    """What was injected on one detector in one visit, in that detector's pixel frame."""

    wcs: WCS
    conditions: VisitConditions
    star_id: np.ndarray
    star_x: np.ndarray
    star_y: np.ndarray
    star_ra: np.ndarray
    star_dec: np.ndarray
    star_mag: np.ndarray
    star_mean_mag: np.ndarray
    transient_id: np.ndarray
    transient_x: np.ndarray
    transient_y: np.ndarray
    transient_ra: np.ndarray
    transient_dec: np.ndarray
    transient_mag: np.ndarray

    def flux_e_per_s(self, mag: np.ndarray) -> np.ndarray:
        return np.asarray(10 ** (-0.4 * (mag - self.conditions.zero_point_mag)))


@dataclass
class RawExposure:
    """One readout of one CCD: 16 amplifier arrays (data + overscan columns) and header."""

    amps: list[np.ndarray]
    metadata: dict[str, str | int | float | bool]
    wcs: WCS | None = None
    cosmic_rays_e: np.ndarray | None = field(default=None, repr=False)


class CameraSimulator:
    """Produces raw science and calibration exposures, and the truth behind them."""

    def __init__(self, model: CameraModel, sky: SyntheticSky, seed: int) -> None:
        self.model = model
        self.sky = sky
        self.seed = seed
        self.focal_plane = FocalPlane(model.detector_size)
        self.signature = lru_cache(maxsize=8)(self._signature)
        self.scene = lru_cache(maxsize=8)(self._scene)

    def conditions(self, visit: int) -> VisitConditions:
        m = self.model
        rng = rng_for(self.seed, "visit", visit)
        dither = rng.normal(0, m.dither_arcsec / 3600, 2)
        true = Pointing(
            m.field_ra + dither[0] / np.cos(np.deg2rad(m.field_dec)),
            m.field_dec + dither[1],
            rng.uniform(-1.0, 1.0),
        )
        error = rng.normal(0, m.pointing_error_arcsec / 3600, 3)
        reported = Pointing(
            true.ra + error[0] / np.cos(np.deg2rad(true.dec)),
            true.dec + error[1],
            true.rotation + error[2],
        )
        zero_point = m.zero_point_mag + rng.normal(0, m.transparency_scatter_mag)
        sky_mag = m.sky_mag_per_arcsec2 + rng.normal(0, 0.2)
        sky = 10 ** (-0.4 * (sky_mag - zero_point)) * PIXEL_SCALE_ARCSEC**2
        seeing = rng.uniform(*m.seeing_fwhm_range_arcsec)
        return VisitConditions(visit, true, reported, seeing, zero_point, sky)

    def _scene(self, visit: int, detector: Detector) -> SceneTruth:
        conditions = self.conditions(visit)
        wcs = self.focal_plane.wcs(detector, conditions.pointing)
        region = footprint_region(wcs, self.model.detector_size, EDGE_MARGIN_ARCSEC)
        stars = self.sky.stars(region)
        transients = self.sky.transients(region, visit)
        star_x, star_y = wcs.all_world2pix(stars.ra, stars.dec, 0)
        tr_x, tr_y = wcs.all_world2pix(transients.ra, transients.dec, 0)
        return SceneTruth(
            wcs,
            conditions,
            stars.id,
            star_x,
            star_y,
            stars.ra,
            stars.dec,
            stars.mags_at(visit),
            stars.mean_mag,
            transients.id,
            tr_x,
            tr_y,
            transients.ra,
            transients.dec,
            transients.mag,
        )

    def science_snap(self, visit: int, detector: Detector, snap: int) -> RawExposure:
        m = self.model
        scene = self.scene(visit, detector)
        signature = self.signature(detector.index)
        rng = rng_for(self.seed, "science", visit, detector.index, snap)
        shape = (m.detector_size, m.detector_size)
        x = np.concatenate([scene.star_x, scene.transient_x])
        y = np.concatenate([scene.star_y, scene.transient_y])
        flux = (
            scene.flux_e_per_s(np.concatenate([scene.star_mag, scene.transient_mag]))
            * m.snap_exptime
        )
        expected = render_point_sources(shape, x, y, flux, scene.conditions.psf_sigma_pixels)
        expected += np.float32(scene.conditions.sky_e_per_pixel_per_s * m.snap_exptime)
        expected *= signature.flat
        expected += signature.dark_current_e_per_s * np.float32(m.snap_exptime)
        cosmic_rays = cosmic_ray_image(
            rng, shape, m.cosmic_rays_per_megapixel_per_s * m.snap_exptime
        )
        electrons = _photon_noise(rng, expected)
        electrons += cosmic_rays
        raw = self._readout(electrons, signature, rng)
        raw.metadata.update(
            self._header(detector, "science", visit * 10 + snap, m.snap_exptime)
            | {
                "VISIT": visit,
                "SNAP": snap,
                "RA": scene.conditions.reported_pointing.ra,
                "DEC": scene.conditions.reported_pointing.dec,
                "ROTPA": scene.conditions.reported_pointing.rotation,
            }
        )
        raw.wcs = self.focal_plane.wcs(detector, scene.conditions.reported_pointing)
        raw.cosmic_rays_e = cosmic_rays
        return raw

    def calibration_exposure(
        self, kind: str, exposure: int, detector: Detector, exptime: float
    ) -> RawExposure:
        """A bias (no light, zero time), dark (no light) or flat (uniform illumination) frame."""
        m = self.model
        signature = self.signature(detector.index)
        rng = rng_for(self.seed, kind, exposure, detector.index)
        shape = (m.detector_size, m.detector_size)
        expected = signature.dark_current_e_per_s * exptime
        if kind == "flat":
            expected = expected + FLAT_ILLUMINATION_E * signature.flat
        electrons = _photon_noise(rng, np.broadcast_to(expected, shape))
        if kind != "bias":
            electrons += cosmic_ray_image(rng, shape, m.cosmic_rays_per_megapixel_per_s * exptime)
        raw = self._readout(electrons, signature, rng)
        raw.metadata.update(self._header(detector, kind, exposure, exptime))
        return raw

    def _header(
        self, detector: Detector, kind: str, exposure: int, exptime: float
    ) -> dict[str, str | int | float | bool]:
        return {
            "EXPID": exposure,
            "IMGTYPE": kind,
            "DETECTOR": detector.name,
            "DETINDEX": detector.index,
            "EXPTIME": exptime,
        }

    def _readout(
        self, electrons: np.ndarray, signature: DetectorSignature, rng: np.random.Generator
    ) -> RawExposure:
        m = self.model
        electrons = np.minimum(electrons, np.float32(m.full_well_e))
        electrons += signature.bias_structure_e
        amps = []
        row_drift = rng.normal(0, 0.5, (AMP_ROWS * AMP_COLUMNS, 1))
        for amp in range(AMP_ROWS * AMP_COLUMNS):
            rows, cols = m.amp_slices(amp)
            flip_y, flip_x = m.amp_flips(amp)
            data = electrons[rows, cols]
            data = data[::-1] if flip_y else data
            data = data[:, ::-1] if flip_x else data
            segment = np.empty((m.amp_height, m.amp_width + m.overscan_columns), dtype=np.float32)
            segment[:, : m.amp_width] = data
            segment[:, m.amp_width :] = 0.0
            noise = rng.standard_normal(segment.shape, dtype=np.float32)
            noise *= np.float32(signature.read_noise_e[amp])
            segment += noise
            segment /= np.float32(signature.gains[amp])
            ripple = row_drift[amp] * np.sin(np.linspace(0, 3 * np.pi, m.amp_height))[:, None]
            segment += (m.bias_level_adu + 100 * amp + ripple).astype(np.float32)
            np.rint(segment, out=segment)
            np.clip(segment, 0, ADC_MAX, out=segment)
            amps.append(segment.astype(np.int32))
        return RawExposure(amps, {})

    def _signature(self, detector_index: int) -> DetectorSignature:
        m = self.model
        rng = rng_for(self.seed, "signature", detector_index)
        n = m.detector_size
        n_amps = AMP_ROWS * AMP_COLUMNS
        gains = m.gain_e_per_adu * (1 + 0.05 * rng.standard_normal(n_amps))
        read_noise = m.read_noise_e * (1 + 0.1 * rng.standard_normal(n_amps))
        coords = np.linspace(-1, 1, n)
        bias_structure = (3.0 * coords[:, None] ** 2 + 2.0 * rng.standard_normal((n, n))).astype(
            np.float32
        )
        dark = m.dark_current_e_per_s * (1 + 0.3 * coords[None, :]) * np.ones((n, 1))
        hot = rng.random((n, n)) < 5e-4
        dark = np.where(hot, rng.uniform(20, 100, (n, n)), dark).astype(np.float32)
        ramp = rng.normal(0, 0.05, 3)
        smooth = (
            1
            + ramp[0] * coords[None, :]
            + ramp[1] * coords[:, None]
            + ramp[2] * coords[:, None] * coords[None, :]
        )
        flat = smooth * (1 + 0.01 * rng.standard_normal((n, n)))
        bad = np.zeros((n, n), dtype=bool)
        bad[:, rng.integers(0, n, 2)] = True
        flat = np.where(bad, 0.05, flat)
        flat /= np.median(flat)
        return DetectorSignature(
            gains, read_noise, bias_structure, dark, flat.astype(np.float32), bad
        )


def footprint_region(wcs: WCS, size: int, margin_arcsec: float) -> SkyRegion:
    """The RA/Dec box around a detector's footprint, widened by ``margin_arcsec``."""
    corners = np.array([[0, 0], [size - 1, 0], [0, size - 1], [size - 1, size - 1]], dtype=float)
    ra, dec = wcs.all_pix2world(corners[:, 0], corners[:, 1], 0)
    ra = np.unwrap(np.deg2rad(ra), period=2 * np.pi)
    margin = margin_arcsec / 3600
    ra_margin = margin / max(np.cos(np.deg2rad(np.abs(dec).max())), 1e-3)
    return SkyRegion(
        float(np.rad2deg(ra.min())) - ra_margin,
        float(np.rad2deg(ra.max())) + ra_margin,
        float(dec.min()) - margin,
        float(dec.max()) + margin,
    )


def cosmic_ray_image(
    rng: np.random.Generator, shape: tuple[int, int], per_megapixel: float
) -> np.ndarray:
    """Straight cosmic-ray tracks, 1-20 pixels long, a few thousand electrons per pixel."""
    count = rng.poisson(per_megapixel * shape[0] * shape[1] / 1e6)
    image = np.zeros(shape[0] * shape[1], dtype=np.float32)
    if count == 0:
        return image.reshape(shape)
    start = rng.random((count, 2)) * np.array(shape)
    angle = rng.uniform(0, np.pi, count)
    length = rng.uniform(1, 20, count)
    energy = rng.uniform(1000, 5000, count)
    steps = np.arange(0, 40) * 0.5
    along = np.minimum(steps[None, :], length[:, None])
    rows = np.floor(start[:, 0, None] + along * np.sin(angle)[:, None]).astype(np.int64)
    cols = np.floor(start[:, 1, None] + along * np.cos(angle)[:, None]).astype(np.int64)
    inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
    track = np.repeat(np.arange(count), steps.size).reshape(inside.shape)
    pixel_and_track = np.unique(
        np.stack([(rows * shape[1] + cols)[inside], track[inside]], axis=1), axis=0
    )
    np.add.at(image, pixel_and_track[:, 0], energy[pixel_and_track[:, 1]].astype(np.float32))
    return image.reshape(shape)


def _photon_noise(rng: np.random.Generator, expected: np.ndarray) -> np.ndarray:
    """Poisson noise in its Gaussian limit (float32, fast enough for 4k x 4k frames)."""
    noise = rng.standard_normal(expected.shape, dtype=np.float32)
    spread = np.maximum(expected, 0, dtype=np.float32)
    np.sqrt(spread, out=spread)
    noise *= spread
    noise += expected
    return noise
