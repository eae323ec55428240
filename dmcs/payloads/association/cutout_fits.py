"""Alert cutouts as FITS bytes, laid out as Rubin's alerts carry them.

Each cutout is a small FITS file: PRIMARY = the image in nJy with a local TAN WCS and
``CUTMINX``/``CUTMINY`` (the CCD pixel of its first column and row), ``UNCERT`` = the
variance (nJy²), ``PSFIMAGE`` = the image's PSF (unit sum). Cutouts are square, their side
the DIASource's ``bboxSize`` clamped to 30–102 px, centred on the source; pixels beyond the
CCD are NaN. The headers are written here card by card (no astropy per cutout: a CCD has
thousands of them), and astropy and fitsverify read them back in the tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from astropy.wcs import WCS

from dmcs.payloads.camera.exposure import Exposure
from dmcs.payloads.differencing.dia_sources import AB_MAG_OF_ONE_NJY

MIN_SIDE = 30
MAX_SIDE = 102
PSF_HALF_WIDTH_SIGMAS = 4.0
_BLOCK = 2880
_CARD = 80

Card = tuple[str, str | int | float | bool]


def cutout_side(bbox_size: int) -> int:
    """The side of a source's cutouts: its footprint's box, clamped to 30–102 pixels."""
    return int(min(MAX_SIDE, max(MIN_SIDE, bbox_size)))


def njy_per_count(exposure: Exposure) -> float:
    """nJy of one count of ``exposure`` (its zero point and exposure time)."""
    metadata = exposure.metadata
    return float(
        10 ** (-0.4 * (float(metadata["ZP"]) - AB_MAG_OF_ONE_NJY)) / float(metadata["EXPTIME"])
    )


def _value(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return f"{'T' if value else 'F':>20}"
    if isinstance(value, int):
        return f"{value:>20}"
    if isinstance(value, float):
        text = f"{value:.15G}"
        if "." not in text and "E" not in text:
            text += ".0"
        return f"{text:>20}"
    quoted = "'" + value.replace("'", "''").ljust(8) + "'"
    return f"{quoted:<20}"


def _header(cards: list[Card]) -> bytes:
    lines = [f"{key:<8}= {_value(value)}".ljust(_CARD) for key, value in cards]
    lines.append("END".ljust(_CARD))
    text = "".join(lines)
    return text.ljust(-(-len(text) // _BLOCK) * _BLOCK).encode("ascii")


def _data(pixels: np.ndarray) -> bytes:
    raw = np.ascontiguousarray(pixels, dtype=">f4").tobytes()
    return raw + b"\0" * (-len(raw) % _BLOCK)


def _image_cards(pixels: np.ndarray, first: bool, name: str) -> list[Card]:
    height, width = pixels.shape
    start: list[Card] = [("SIMPLE", True)] if first else [("XTENSION", "IMAGE")]
    cards: list[Card] = [*start, ("BITPIX", -32), ("NAXIS", 2), ("NAXIS1", width),
                         ("NAXIS2", height)]
    cards += [("EXTEND", True)] if first else [("PCOUNT", 0), ("GCOUNT", 1)]
    return [*cards, ("EXTNAME", name)]


def psf_image(sigma: float) -> np.ndarray:
    """A Gaussian PSF of unit sum on a square of ±4 sigma."""
    half = max(1, math.ceil(PSF_HALF_WIDTH_SIGMAS * sigma))
    grid = np.arange(-half, half + 1, dtype=np.float64)
    profile = np.exp(-0.5 * (grid / sigma) ** 2)
    image = np.outer(profile, profile)
    return (image / image.sum()).astype(np.float32)


def _stamp(plane: np.ndarray, x0: int, y0: int, side: int) -> np.ndarray:
    """``side`` x ``side`` pixels from (x0, y0), NaN where they fall off the plane."""
    stamp = np.full((side, side), np.nan, dtype=np.float32)
    height, width = plane.shape
    ys, ye = max(0, y0), min(height, y0 + side)
    xs, xe = max(0, x0), min(width, x0 + side)
    if ys < ye and xs < xe:
        stamp[ys - y0 : ye - y0, xs - x0 : xe - x0] = plane[ys:ye, xs:xe]
    return stamp


@dataclass(frozen=True)
class LocalWcs:
    """TAN WCS cards valid near one pixel: its sky position and the local CD matrix."""

    ra: float
    dec: float
    cd: tuple[float, float, float, float]

    def cards(self, crpix1: float, crpix2: float) -> list[Card]:
        cd11, cd12, cd21, cd22 = self.cd
        return [
            ("WCSAXES", 2), ("CTYPE1", "RA---TAN"), ("CTYPE2", "DEC--TAN"),
            ("CUNIT1", "deg"), ("CUNIT2", "deg"), ("RADESYS", "ICRS"),
            ("CRPIX1", crpix1), ("CRPIX2", crpix2), ("CRVAL1", self.ra), ("CRVAL2", self.dec),
            ("CD1_1", cd11), ("CD1_2", cd12), ("CD2_1", cd21), ("CD2_2", cd22),
        ]


def local_wcs(wcs: WCS, x: np.ndarray, y: np.ndarray) -> list[LocalWcs]:
    """The local TAN approximation of ``wcs`` at each (x, y) (0-based pixels)."""
    ra0, dec0 = wcs.all_pix2world(x, y, 0)
    ra_x, dec_x = wcs.all_pix2world(x + 1, y, 0)
    ra_y, dec_y = wcs.all_pix2world(x, y + 1, 0)
    cos_dec = np.cos(np.deg2rad(dec0))

    def east(ra: np.ndarray) -> np.ndarray:
        return ((ra - ra0 + 180.0) % 360.0 - 180.0) * cos_dec

    cd11, cd12 = east(ra_x), east(ra_y)
    cd21, cd22 = dec_x - dec0, dec_y - dec0
    return [
        LocalWcs(float(ra0[i]), float(dec0[i]),
                 (float(cd11[i]), float(cd12[i]), float(cd21[i]), float(cd22[i])))
        for i in range(len(ra0))
    ]


def cutouts_fits(
    exposure: Exposure, x: np.ndarray, y: np.ndarray, sides: np.ndarray, offset: int = 0
) -> list[bytes]:
    """One FITS cutout of ``exposure`` per source at CCD pixel (x, y).

    ``offset`` is where CCD pixel (0, 0) lies in ``exposure`` (a template's border), so
    ``CUTMINX``/``CUTMINY`` are CCD pixels whichever image the cutout comes from.
    """
    assert exposure.wcs is not None
    scale = njy_per_count(exposure)
    image = exposure.image
    variance = exposure.variance
    psf = psf_image(float(exposure.metadata["PSFSIGMA"]))
    psf_hdu = _header(_image_cards(psf, False, "PSFIMAGE")) + _data(psf)
    centre_x = np.rint(x).astype(np.int64)
    centre_y = np.rint(y).astype(np.int64)
    wcs_at = local_wcs(exposure.wcs, (centre_x + offset).astype(float),
                       (centre_y + offset).astype(float))
    out = []
    for i, side in enumerate(int(s) for s in sides):
        x0 = int(centre_x[i]) - side // 2
        y0 = int(centre_y[i]) - side // 2
        pixels = _stamp(image, x0 + offset, y0 + offset, side) * np.float32(scale)
        uncert = _stamp(variance, x0 + offset, y0 + offset, side) * np.float32(scale * scale)
        primary = _image_cards(pixels, True, "IMAGE")
        primary += [("BUNIT", "nJy"), ("CUTMINX", x0), ("CUTMINY", y0)]
        primary += wcs_at[i].cards(float(centre_x[i] - x0 + 1), float(centre_y[i] - y0 + 1))
        out.append(
            _header(primary) + _data(pixels)
            + _header([*_image_cards(uncert, False, "UNCERT"), ("BUNIT", "nJy**2")])
            + _data(uncert)
            + psf_hdu
        )
    return out


def pack(blobs: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Byte strings as one uint8 array and their offsets (how a dataset file holds them)."""
    offsets = np.zeros(len(blobs) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(b) for b in blobs])
    return np.frombuffer(b"".join(blobs), dtype=np.uint8).copy(), offsets


def unpack(data: np.ndarray, offsets: np.ndarray) -> list[bytes]:
    if len(offsets) < 2:
        return []
    raw = np.asarray(data, dtype=np.uint8).tobytes()
    return [raw[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
