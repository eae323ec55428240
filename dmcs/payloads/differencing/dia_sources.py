"""DIASources: positive and negative detections on a difference image, measured.

Detections whose core touches saturated, bad or edge-masked pixels, or whose peak is a pixel
repaired for a cosmic ray, are dropped: residuals there are not astrophysical. A source near
the CCD edge is measured on the part of its stamp that lies on the CCD. Fluxes are calibrated
to nJy with the visit's zero point. ``psfNdata`` counts the pixels the PSF fit used (its stamp,
on the CCD) and ``bboxSize`` is the side of the box around the source's above-threshold
footprint, as Rubin's DiaSource records them; cutouts are `association.cutout_fits`'s.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from dmcs.payloads.camera.exposure import Exposure, MaskBit
from dmcs.payloads.characterize.detection import find_peaks, footprint_mask, significance_map
from dmcs.payloads.characterize.measurement import (
    measure_sources,
    stamp_half_width,
)

AB_MAG_OF_ONE_NJY = 31.4
REJECT_BITS = int(MaskBit.SAT | MaskBit.BAD | MaskBit.EDGE)
REJECT_PEAK_BITS = REJECT_BITS | int(MaskBit.CR)
MAX_SOURCES_PER_CCD = 100_000

DIA_SOURCE_DTYPE = np.dtype(
    [
        ("diaSourceId", "i8"),
        ("visit", "i8"),
        ("detector", "i4"),
        ("x", "f8"),
        ("y", "f8"),
        ("ra", "f8"),
        ("dec", "f8"),
        ("psfFlux", "f8"),
        ("psfFluxErr", "f8"),
        ("snr", "f8"),
        ("isNegative", "i2"),
        ("flags", "i4"),
        ("psfNdata", "i4"),
        ("bboxSize", "i4"),
    ]
)


def dia_source_id(visit: int, detector: int, index: np.ndarray) -> np.ndarray:
    """Ids unique across visits and detectors, independent of which rank made them."""
    return (visit * 1000 + detector) * MAX_SOURCES_PER_CCD + index


def detect_dia_sources(
    difference: Exposure, psf_sigma: float, threshold: float, visit: int, detector: int
) -> np.ndarray:
    """Measured DIASources, sorted by position; marks their footprints DET/DETNEG in the mask."""
    significance = significance_map(difference.image, difference.variance, psf_sigma)
    footprints = {polarity: footprint_mask(significance, threshold, 0, polarity)
                  for polarity in (1, -1)}
    for polarity, bit in ((1, MaskBit.DET), (-1, MaskBit.DETNEG)):
        np.bitwise_or(difference.mask, np.int32(bit), out=difference.mask,
                      where=footprints[polarity])
    catalogs = []
    for polarity in (1, -1):
        peaks = find_peaks(significance, threshold, psf_sigma, polarity)
        measured = measure_sources(
            difference.image,
            difference.variance,
            difference.mask,
            peaks.x,
            peaks.y,
            psf_sigma,
            polarity,
        )
        keep = (measured["flags"] & REJECT_BITS) == 0
        keep &= (difference.mask[peaks.y, peaks.x] & REJECT_PEAK_BITS) == 0
        keep &= measured["snr"] >= threshold
        catalog = np.zeros(int(keep.sum()), dtype=DIA_SOURCE_DTYPE)
        for name in ("x", "y", "flags"):
            catalog[name] = measured[name][keep]
        catalog["psfFlux"] = measured["psf_flux"][keep]
        catalog["psfFluxErr"] = measured["psf_flux_err"][keep]
        catalog["snr"] = measured["snr"][keep] * polarity
        catalog["isNegative"] = polarity < 0
        catalog["psfNdata"] = _stamp_pixels_on_ccd(
            difference.shape, peaks.x[keep], peaks.y[keep], stamp_half_width(psf_sigma)
        )
        catalog["bboxSize"] = _footprint_box_sides(
            footprints[polarity], peaks.x[keep], peaks.y[keep]
        )
        catalogs.append(catalog)
    sources = np.concatenate(catalogs)
    order = np.lexsort((sources["x"], sources["y"]))
    sources = sources[order]
    sources["visit"] = visit
    sources["detector"] = detector
    sources["diaSourceId"] = dia_source_id(visit, detector, np.arange(len(sources)))
    assert difference.wcs is not None
    sources["ra"], sources["dec"] = difference.wcs.all_pix2world(sources["x"], sources["y"], 0)
    to_njy = 10 ** (-0.4 * (float(difference.metadata["ZP"]) - AB_MAG_OF_ONE_NJY)) / float(
        difference.metadata["EXPTIME"]
    )
    sources["psfFlux"] *= to_njy
    sources["psfFluxErr"] *= to_njy
    return sources


def _stamp_pixels_on_ccd(
    shape: tuple[int, int], x: np.ndarray, y: np.ndarray, half: int
) -> np.ndarray:
    height, width = shape
    columns = np.minimum(x + half, width - 1) - np.maximum(x - half, 0) + 1
    rows = np.minimum(y + half, height - 1) - np.maximum(y - half, 0) + 1
    return (columns * rows).astype(np.int32)


def _footprint_box_sides(footprint: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The larger side of the bounding box of the footprint each peak lies in (1 if none)."""
    labels, _ = ndimage.label(footprint)
    boxes = ndimage.find_objects(labels)
    sides = np.ones(len(x), dtype=np.int32)
    for k, label in enumerate(labels[y, x]):
        if label > 0:
            rows, columns = boxes[label - 1]
            sides[k] = max(rows.stop - rows.start, columns.stop - columns.start)
    return sides
