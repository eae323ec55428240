"""Processed images (calibration masters, calexps, difference images) through the Butler.

The in-memory type is the payloads' ``Exposure`` (image, mask, variance, WCS, metadata),
stored as the payloads store it: FITS written by ``dmcs.payloads.io.io_fits`` (one image HDU
per plane), or read back from an HDF5 file a payload wrote (masters ingested where the job
left them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lsst.daf.butler import FormatterV2
from lsst.resources import ResourcePath

from dmcs.payloads.camera.exposure import Exposure, bundle_to_exposure, exposure_to_bundle
from dmcs.payloads.io.io_fits import write_fits
from dmcs.payloads.storage import read_bundle

STORAGE_CLASS = "DmcsExposure"


class ExposureFormatter(FormatterV2):
    """Writes FITS; reads the payloads' FITS or HDF5 files."""

    default_extension = ".fits"
    supported_extensions = frozenset({".fits", ".h5"})
    can_read_from_local_file = True

    def read_from_local_file(
        self, path: str, component: str | None = None, expected_size: int = -1
    ) -> Any:
        return bundle_to_exposure(read_bundle(Path(path)))

    def write_local_file(self, in_memory_dataset: Any, uri: ResourcePath) -> None:
        if not isinstance(in_memory_dataset, Exposure):
            raise TypeError(f"expected an Exposure, got {type(in_memory_dataset).__name__}")
        write_fits(Path(uri.ospath), exposure_to_bundle(in_memory_dataset))


STORAGE_CLASSES = {STORAGE_CLASS: {"pytype": f"{Exposure.__module__}.{Exposure.__name__}"}}
FORMATTERS = {STORAGE_CLASS: f"{__name__}.ExposureFormatter"}
