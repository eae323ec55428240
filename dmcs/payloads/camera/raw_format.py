"""A raw CCD as bytes on disk: how the DAQ store and the render cache both keep one.

The pixels are one ``.npy`` array, int32 (16 amplifiers, rows, columns + overscan); the header
metadata travel as JSON and the WCS as a FITS header string ("" when there is none). A file is
read once into one writable buffer and its amplifiers are views of it: at 4k a CCD is 71 MB,
and every extra copy (``np.load`` makes one) costs as much as its checksum.
"""

from __future__ import annotations

import io
import json
import zlib
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from numpy.lib import format as npy_format

from dmcs.payloads.camera.camera import RawExposure

#: Enough bytes for any ``.npy`` header of a raw (magic, length, the dict padded to 64).
NPY_HEADER_MAX = 4096


def raw_bytes(raw: RawExposure) -> memoryview:
    """The ``.npy`` bytes of a raw CCD's amplifiers."""
    buffer = io.BytesIO()
    np.save(buffer, np.stack(raw.amps).astype(np.int32, copy=False))
    return buffer.getbuffer()


def raw_metadata(raw: RawExposure) -> str:
    return json.dumps(raw.metadata)


def raw_wcs(raw: RawExposure) -> str:
    return raw.wcs.to_header_string() if raw.wcs is not None else ""


def raw_crc32(data: bytes | memoryview) -> int:
    """The CRC-32 of a raw's bytes: how a damaged file is noticed (~10x cheaper than md5, and
    computed outside the GIL)."""
    return zlib.crc32(data)


def read_raw_file(path: Path) -> np.ndarray:
    """A raw's file, read straight into one writable byte buffer."""
    with path.open("rb", buffering=0) as stream:
        data = np.empty(path.stat().st_size, dtype=np.uint8)
        if stream.readinto(data.data) != data.nbytes:
            raise OSError(f"{path}: changed size while being read")
    return data


def raw_from_bytes(data: bytes | np.ndarray, metadata: str, wcs_text: str) -> RawExposure:
    """The raw CCD back from what ``raw_bytes``, ``raw_metadata`` and ``raw_wcs`` gave; the
    amplifiers are views of ``data`` (writable when ``data`` is)."""
    header = io.BytesIO(bytes(data[:NPY_HEADER_MAX]))
    version = npy_format.read_magic(header)
    read_header = (npy_format.read_array_header_1_0 if version == (1, 0)
                   else npy_format.read_array_header_2_0)
    shape, fortran_order, dtype = read_header(header)
    if fortran_order:
        raise ValueError("a raw's amplifiers are stored in C order")
    amps = np.frombuffer(data, dtype=dtype, count=int(np.prod(shape)),
                         offset=header.tell()).reshape(shape)
    wcs = WCS(fits.Header.fromstring(wcs_text)) if wcs_text else None
    return RawExposure(list(amps), json.loads(metadata), wcs)
