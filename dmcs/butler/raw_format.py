"""Reading an archived raw FITS file through the Butler (obs_lsst's formatter needs afw).

``butler.get("raw", …)`` returns the file as an ``astropy.io.fits.HDUList`` with every HDU
loaded and the file closed: HDU 0 the header (no data), HDUs 1–16 the amplifier segments,
exactly as the archiver wrote them. ``butler.get("raw.header", …)`` reads only the primary
header (LDM-592 DRP8b: metadata without pixels), a few kB whatever the CCD's size.
"""

from __future__ import annotations

from typing import Any

from astropy.io import fits
from lsst.daf.butler import FormatterV2, StorageClassDelegate

#: The component that is the primary header.
HEADER = "header"
STORAGE_CLASS = "RawFits"
HEADER_STORAGE_CLASS = "FitsHeader"


class RawFitsFormatter(FormatterV2):
    """Reads raws (read only: the archiver writes them, the Butler ingests them)."""

    default_extension = ".fits"
    supported_extensions = frozenset({".fits"})
    can_read_from_local_file = True

    def read_from_local_file(
        self, path: str, component: str | None = None, expected_size: int = -1
    ) -> Any:
        if component == HEADER:
            return fits.getheader(path, 0)
        with fits.open(path, memmap=False) as hdus:
            for hdu in hdus:
                _ = hdu.data  # read now: the file closes on return
        return hdus


class RawFitsDelegate(StorageClassDelegate):
    """The header component of a raw already in memory (its primary HDU's header)."""

    def getComponent(self, composite: Any, componentName: str) -> Any:
        if componentName == HEADER:
            return composite[0].header
        return super().getComponent(composite, componentName)


#: The storage classes, as the repository's configuration declares them.
STORAGE_CLASSES = {
    HEADER_STORAGE_CLASS: {"pytype": "astropy.io.fits.Header"},
    STORAGE_CLASS: {
        "pytype": "astropy.io.fits.HDUList",
        "delegate": f"{__name__}.RawFitsDelegate",
        "derivedComponents": {HEADER: HEADER_STORAGE_CLASS},
    },
}
FORMATTERS = {STORAGE_CLASS: f"{__name__}.RawFitsFormatter"}
