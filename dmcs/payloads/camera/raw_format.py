"""A raw CCD as bytes on disk: how the DAQ store and the render cache both keep one.

The pixels are one ``.npy`` array, int32 (16 amplifiers, rows, columns + overscan); the header
metadata travel as JSON and the WCS as a FITS header string ("" when there is none).
"""

from __future__ import annotations

import io
import json

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from dmcs.payloads.camera.camera import RawExposure


def raw_bytes(raw: RawExposure) -> memoryview:
    """The ``.npy`` bytes of a raw CCD's amplifiers."""
    buffer = io.BytesIO()
    np.save(buffer, np.stack(raw.amps).astype(np.int32, copy=False))
    return buffer.getbuffer()


def raw_metadata(raw: RawExposure) -> str:
    return json.dumps(raw.metadata)


def raw_wcs(raw: RawExposure) -> str:
    return raw.wcs.to_header_string() if raw.wcs is not None else ""


def raw_from_bytes(data: bytes, metadata: str, wcs_text: str) -> RawExposure:
    """The raw CCD back from what ``raw_bytes``, ``raw_metadata`` and ``raw_wcs`` gave."""
    amps = np.load(io.BytesIO(data))
    wcs = WCS(fits.Header.fromstring(wcs_text)) if wcs_text else None
    return RawExposure(list(amps), json.loads(metadata), wcs)
