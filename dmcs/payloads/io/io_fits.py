"""FITS storage of a DataBundle: metadata in the primary header, one extension per array.

Images carry the WCS in their headers; tables are binary tables. Image data are streamed in
big-endian order through a small buffer, or tile-compressed (``io.compression``) when asked;
files are fsynced so a product reported as written survives a node crash.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from dmcs.payloads.camera.exposure import DataBundle, Metadata
from dmcs.payloads.io.compression import TileCompression

STRUCTURAL_KEYWORDS = frozenset({"SIMPLE", "BITPIX", "NAXIS", "EXTEND", "COMMENT", "HISTORY", ""})
FITS_BLOCK = 2880
CONVERSION_BUFFER_BYTES = 1 << 22


def check_metadata(metadata: Metadata) -> None:
    for key, value in metadata.items():
        if (
            len(key) > 8
            or key != key.upper()
            or not key.replace("_", "").replace("-", "").isalnum()
        ):
            raise ValueError(
                f"metadata key {key!r} is not a valid FITS keyword (<= 8 chars, upper case)"
            )
        if not isinstance(value, str | int | float | bool):
            raise ValueError(f"metadata value for {key!r} must be str, int, float or bool")


def native(array: np.ndarray) -> np.ndarray:
    """The same values with native byte order (FITS stores big-endian)."""
    if array.dtype.names:
        fields = [(name, array.dtype[name].newbyteorder("=")) for name in array.dtype.names]
        return np.asarray(array).astype(fields)
    return np.asarray(array).astype(array.dtype.newbyteorder("="), copy=False)


def fsync_path(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_big_endian(stream: BinaryIO, array: np.ndarray) -> None:
    """Array bytes in FITS (big-endian) order, converted a few rows at a time.

    Converting into a small reused buffer reads the data once; astropy's own writer swaps the
    whole array in place and back, twice over memory, which costs a third of the write speed.
    """
    if array.size == 0:
        return
    flat = np.ascontiguousarray(array).reshape(array.shape[0], -1)
    rows = max(1, CONVERSION_BUFFER_BYTES // flat[0].nbytes)
    buffer = np.empty((rows, flat.shape[1]), dtype=flat.dtype.newbyteorder(">"))
    for start in range(0, flat.shape[0], rows):
        chunk = flat[start : start + rows]
        converted = buffer[: len(chunk)]
        converted[...] = chunk
        stream.write(converted.data)
    stream.write(b"\0" * (-array.nbytes % FITS_BLOCK))


def _extension_bytes(hdu: fits.BinTableHDU | fits.CompImageHDU) -> bytes:
    """One extension HDU as bytes (astropy writes it after a default one-block primary)."""
    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buffer)
    return buffer.getvalue()[len(fits.PrimaryHDU().header.tostring()) :]


def write_fits(path: Path, bundle: DataBundle, compression: TileCompression | None = None) -> Path:
    """The bundle as a FITS file; with ``compression``, its 2-D planes tile-compressed."""
    check_metadata(bundle.metadata)
    primary = fits.PrimaryHDU()
    for key, value in bundle.metadata.items():
        primary.header[key] = value
    wcs_header = bundle.wcs.to_header() if bundle.wcs is not None else fits.Header()
    with path.open("wb") as stream:
        stream.write(primary.header.tostring().encode("ascii"))
        for name, array in bundle.arrays.items():
            if array.dtype.names:
                stream.write(_extension_bytes(fits.BinTableHDU(data=array, name=name.upper())))
                continue
            header = wcs_header.copy() if array.ndim == 2 else fits.Header()
            if compression is not None and array.ndim == 2:
                stream.write(_extension_bytes(compression.hdu(name.upper(), array, header)))
                continue
            hdu = fits.ImageHDU(data=array, header=header, name=name.upper())
            stream.write(hdu.header.tostring().encode("ascii"))
            _write_big_endian(stream, array)
    fsync_path(path)
    return path


def read_fits(path: Path) -> DataBundle:
    arrays: dict[str, np.ndarray] = {}
    wcs = None
    with fits.open(path, memmap=False) as hdus:
        metadata: Metadata = {
            key: value for key, value in hdus[0].header.items() if key not in STRUCTURAL_KEYWORDS
        }
        for hdu in hdus[1:]:
            arrays[hdu.name.lower()] = native(np.asarray(hdu.data))
            if wcs is None and "CTYPE1" in hdu.header:
                wcs = WCS(hdu.header)
    return DataBundle(arrays, metadata, wcs)
