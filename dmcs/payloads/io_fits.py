"""FITS storage of a DataBundle: metadata in the primary header, one extension per array.

Images carry the WCS in their headers; tables are binary tables. Files are fsynced so a
product reported as written survives a node crash.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from dmcs.payloads.exposure import DataBundle, Metadata

STRUCTURAL_KEYWORDS = frozenset({"SIMPLE", "BITPIX", "NAXIS", "EXTEND", "COMMENT", "HISTORY", ""})


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


def write_fits(path: Path, bundle: DataBundle) -> Path:
    check_metadata(bundle.metadata)
    primary = fits.PrimaryHDU()
    for key, value in bundle.metadata.items():
        primary.header[key] = value
    hdus: list[fits.PrimaryHDU | fits.ImageHDU | fits.BinTableHDU] = [primary]
    wcs_header = bundle.wcs.to_header() if bundle.wcs is not None else fits.Header()
    for name, array in bundle.arrays.items():
        if array.dtype.names:
            hdus.append(fits.BinTableHDU(data=array, name=name.upper()))
        else:
            header = wcs_header.copy() if array.ndim == 2 else fits.Header()
            hdus.append(fits.ImageHDU(data=array, header=header, name=name.upper()))
    fits.HDUList(hdus).writeto(path, overwrite=True)
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
