"""Instrument signature removal: raw amplifier segments to a calibrated exposure in electrons.

Per amplifier: subtract the serial overscan (a low-order fit along rows, so the bias drift is
followed without adding overscan noise to every row), trim, undo the readout flip, apply the
gain. Then, on the assembled CCD: bias, dark and flat, saturation and defect masks, and a
variance plane from the photon and read noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from dmcs.payloads.camera.camera import AMP_COLUMNS, AMP_ROWS, CameraModel, RawExposure
from dmcs.payloads.camera.exposure import Exposure, MaskBit

SATURATION_FRACTION = 0.98
OVERSCAN_SKIP_COLUMNS = 2
SCALED_DARKS_KEPT = 4


@dataclass
class MasterCalibrations:
    """Master bias (e-), dark (e-/s) and flat (unit median) of one detector, and its defects.

    Held per detector for many exposures, so what every exposure would recompute (the flat's
    inverse and its square, the dark scaled to an exposure time) is computed once, on use.
    """

    bias: np.ndarray | None = None
    dark: np.ndarray | None = None
    flat: np.ndarray | None = None
    defects: np.ndarray | None = None
    _scaled_darks: dict[float, np.ndarray] = field(default_factory=dict, repr=False)

    @cached_property
    def inverse_flat(self) -> np.ndarray | None:
        return None if self.flat is None else np.reciprocal(self.flat, dtype=np.float32)

    @cached_property
    def inverse_flat_squared(self) -> np.ndarray | None:
        inverse = self.inverse_flat
        return None if inverse is None else inverse * inverse

    def dark_for(self, exptime: float) -> np.ndarray | None:
        """The dark current in electrons over ``exptime`` seconds (the last few kept)."""
        if self.dark is None:
            return None
        if exptime not in self._scaled_darks:
            if len(self._scaled_darks) >= SCALED_DARKS_KEPT:
                self._scaled_darks.clear()
            self._scaled_darks[exptime] = np.multiply(
                self.dark, np.float32(exptime), dtype=np.float32
            )
        return self._scaled_darks[exptime]


@dataclass
class AssembledImage:
    """Overscan-corrected, trimmed electrons, with per-amp read noise measured from overscan."""

    electrons: np.ndarray
    saturated: np.ndarray
    read_noise_e: np.ndarray


def assemble(raw: RawExposure, model: CameraModel, gains: np.ndarray) -> AssembledImage:
    """Overscan-subtract, trim, flip and gain-correct the 16 segments into one image.

    Each segment is converted straight into its (flipped) place in the CCD image.
    """
    n = model.detector_size
    electrons = np.empty((n, n), dtype=np.float32)
    read_noise = np.empty(AMP_ROWS * AMP_COLUMNS)
    row_index = np.arange(model.amp_height, dtype=np.float64)
    for amp, segment in enumerate(raw.amps):
        overscan = segment[:, model.amp_width + OVERSCAN_SKIP_COLUMNS :].astype(np.float32)
        row_level = overscan.mean(axis=1)
        level = np.polyval(np.polyfit(row_index, row_level, 3), row_index).astype(np.float32)
        read_noise[amp] = float(np.std(overscan - level[:, None])) * gains[amp]
        flip_y, flip_x = model.amp_flips(amp)
        place = electrons[model.amp_slices(amp)]
        place = place[::-1] if flip_y else place
        place = place[:, ::-1] if flip_x else place
        np.copyto(place, segment[:, : model.amp_width], casting="unsafe")
        place -= level[:, None]
        place *= np.float32(gains[amp])
    saturated = electrons >= SATURATION_FRACTION * model.full_well_e
    return AssembledImage(electrons, saturated, read_noise)


def run_isr(
    raw: RawExposure, model: CameraModel, gains: np.ndarray, calibs: MasterCalibrations
) -> Exposure:
    """Full ISR of one raw exposure with whichever master calibrations are given."""
    assembled = assemble(raw, model, gains)
    image = assembled.electrons
    if calibs.bias is not None:
        image -= calibs.bias
    variance = np.maximum(image, 0)
    for amp, noise in enumerate(assembled.read_noise_e):
        variance[model.amp_slices(amp)] += np.float32(noise**2)
    dark = calibs.dark_for(float(raw.metadata.get("EXPTIME", 0.0)))
    if dark is not None:
        image -= dark
    if calibs.inverse_flat is not None and calibs.inverse_flat_squared is not None:
        image *= calibs.inverse_flat
        variance *= calibs.inverse_flat_squared
    mask = np.zeros(image.shape, dtype=np.int32)
    mask[assembled.saturated] = np.int32(MaskBit.SAT)
    if calibs.defects is not None:
        mask[calibs.defects] |= np.int32(MaskBit.BAD)
    metadata = dict(raw.metadata) | {"ISR": True, "RDNOISE": float(np.mean(assembled.read_noise_e))}
    return Exposure(image, mask, variance, raw.wcs, metadata)
