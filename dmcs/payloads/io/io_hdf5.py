"""HDF5 storage of a DataBundle: metadata as root attributes, one dataset per array."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from dmcs.payloads.camera.exposure import DataBundle, Metadata
from dmcs.payloads.io.io_fits import check_metadata, fsync_path

WCS_ATTRIBUTE = "wcs_header"


def write_hdf5(path: Path, bundle: DataBundle) -> Path:
    check_metadata(bundle.metadata)
    with h5py.File(path, "w") as store:
        for key, value in bundle.metadata.items():
            store.attrs[key] = value
        if bundle.wcs is not None:
            store.attrs[WCS_ATTRIBUTE] = bundle.wcs.to_header_string()
        for name, array in bundle.arrays.items():
            store.create_dataset(name, data=array)
    fsync_path(path)
    return path


def _python_value(value: object) -> str | int | float | bool:
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


def read_hdf5(path: Path) -> DataBundle:
    with h5py.File(path, "r") as store:
        metadata: Metadata = {
            key: _python_value(value) for key, value in store.attrs.items() if key != WCS_ATTRIBUTE
        }
        wcs = None
        if WCS_ATTRIBUTE in store.attrs:
            wcs = WCS(fits.Header.fromstring(str(store.attrs[WCS_ATTRIBUTE])))
        arrays = {name: np.asarray(dataset[()]) for name, dataset in store.items()}
    return DataBundle(arrays, metadata, wcs)
