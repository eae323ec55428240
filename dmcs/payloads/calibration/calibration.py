"""Master calibrations from raw calibration exposures, with sigma-clipped combination.

Bias: overscan-corrected frames combined. Dark: bias-subtracted frames scaled to e-/s.
Flat: bias- and dark-corrected frames, each normalised by its median, combined and normalised.
Defects (dead and hot pixels) are flagged from the flat and the dark.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dmcs.payloads.camera.camera import CameraModel, RawExposure
from dmcs.payloads.camera.exposure import Exposure, MaskBit
from dmcs.payloads.isr.isr import MasterCalibrations, assemble, run_isr

DEAD_FLAT_LEVEL = 0.5
HOT_DARK_E_PER_S = 5.0


def clipped_mean(
    stack: np.ndarray, nsigma: float = 3.0, iterations: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel mean of a (frames, y, x) stack after rejecting outliers such as cosmic rays.

    The spread is a per-pixel MAD floored at the detector-wide noise, measured from differences
    of consecutive frames (unbiased for few frames, blind to structure common to all frames), so
    that a pixel with a lucky small scatter among a handful of frames does not reject good
    values. Returns (mean, error), the error being that spread over sqrt(frames kept).
    """
    data = stack.astype(np.float32)
    frame_noise = 1.4826 * float(np.median(np.abs(np.diff(data, axis=0)))) / np.sqrt(2)
    keep = np.ones(data.shape, dtype=bool)
    for _ in range(iterations):
        masked = np.where(keep, data, np.nan)
        centre = np.nanmedian(masked, axis=0)
        spread = np.maximum(1.4826 * np.nanmedian(np.abs(masked - centre), axis=0), frame_noise)
        keep = np.abs(data - centre) <= nsigma * spread
    count = np.maximum(keep.sum(axis=0), 1)
    mean = np.where(keep, data, 0.0).sum(axis=0) / count
    return mean.astype(np.float32), (spread / np.sqrt(count)).astype(np.float32)


def _product(
    mean: np.ndarray, error: np.ndarray, mask: np.ndarray, kind: str, raws: Sequence[RawExposure]
) -> Exposure:
    first = raws[0].metadata
    metadata = {
        "CALIB": kind,
        "DETECTOR": first["DETECTOR"],
        "DETINDEX": first["DETINDEX"],
        "NINPUTS": len(raws),
    }
    return Exposure(mean, mask.astype(np.int32), error**2, None, metadata)


def provenance_table(inputs: Sequence[str]) -> np.ndarray:
    """The inputs of a product as a table (one row per input id) stored next to it."""
    return np.array([(name.encode(),) for name in inputs], dtype=[("input", "S96")])


def master_bias(
    raws: Sequence[RawExposure], model: CameraModel, gains: np.ndarray, nsigma: float
) -> Exposure:
    stack = np.stack([assemble(raw, model, gains).electrons for raw in raws])
    mean, error = clipped_mean(stack, nsigma)
    return _product(mean, error, np.zeros(mean.shape), "bias", raws)


def master_dark(
    raws: Sequence[RawExposure],
    model: CameraModel,
    gains: np.ndarray,
    bias: np.ndarray,
    nsigma: float,
) -> Exposure:
    calibs = MasterCalibrations(bias=bias)
    stack = np.stack(
        [run_isr(raw, model, gains, calibs).image / float(raw.metadata["EXPTIME"]) for raw in raws]
    )
    mean, error = clipped_mean(stack, nsigma)
    hot = np.where(mean > HOT_DARK_E_PER_S, int(MaskBit.BAD), 0)
    return _product(mean, error, hot, "dark", raws)


def master_flat(
    raws: Sequence[RawExposure],
    model: CameraModel,
    gains: np.ndarray,
    bias: np.ndarray,
    dark: np.ndarray,
    nsigma: float,
) -> Exposure:
    calibs = MasterCalibrations(bias=bias, dark=dark)
    frames = []
    for raw in raws:
        image = run_isr(raw, model, gains, calibs).image
        frames.append(image / np.median(image))
    mean, error = clipped_mean(np.stack(frames), nsigma)
    norm = np.median(mean)
    mean, error = mean / norm, error / norm
    dead = np.where(mean < DEAD_FLAT_LEVEL, int(MaskBit.BAD), 0)
    return _product(mean, error, dead, "flat", raws)


def calibrations_from_products(
    bias: Exposure | None, dark: Exposure | None, flat: Exposure | None
) -> MasterCalibrations:
    """ISR inputs from master products; defects are the union of their BAD masks."""
    defects = None
    for product in (dark, flat):
        if product is not None:
            bad = (product.mask & int(MaskBit.BAD)) != 0
            defects = bad if defects is None else defects | bad
    return MasterCalibrations(
        bias=None if bias is None else bias.image,
        dark=None if dark is None else dark.image,
        flat=None if flat is None else flat.image,
        defects=defects,
    )
