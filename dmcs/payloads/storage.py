"""Choosing FITS or HDF5 per dataset, and reading either back by file extension."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from dmcs.payloads.camera.exposure import DataBundle
from dmcs.payloads.io.compression import TileCompression
from dmcs.payloads.io.io_fits import read_fits, write_fits
from dmcs.payloads.io.io_hdf5 import read_hdf5, write_hdf5

OutputFormat = Literal["fits", "hdf5"]
EXTENSIONS: dict[str, str] = {"fits": ".fits", "hdf5": ".h5"}


def write_bundle(
    path_without_suffix: Path,
    bundle: DataBundle,
    output_format: OutputFormat,
    compression: TileCompression | None = None,
) -> Path:
    """Write a bundle; ``compression`` applies to FITS (HDF5 datasets are written as they are)."""
    path = path_without_suffix.with_suffix(EXTENSIONS[output_format])
    path.parent.mkdir(parents=True, exist_ok=True)
    if output_format == "fits":
        return write_fits(path, bundle, compression)
    return write_hdf5(path, bundle)


def read_bundle(path: Path) -> DataBundle:
    if path.suffix == ".fits":
        return read_fits(path)
    if path.suffix == ".h5":
        return read_hdf5(path)
    raise ValueError(f"cannot read {path}: expected a .fits or .h5 file")


def find_dataset(path_without_suffix: Path) -> Path | None:
    """The stored file for a dataset, whichever format it was written in."""
    for suffix in EXTENSIONS.values():
        candidate = path_without_suffix.with_suffix(suffix)
        if candidate.exists():
            return candidate
    return None
