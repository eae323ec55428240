"""Raw CCD files: one primary header (image + CCD metadata) and 16 amplifier segments.

Every HDU carries CHECKSUM/DATASUM; the file is written to a temporary name in its final
directory, fsynced, and renamed, so a reader (or a restarted archiver) sees either the whole
file or none. ``verify`` checks a file the way a consumer would: FITS checksums and md5.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

from astropy.io import fits
from astropy.utils.exceptions import AstropyUserWarning

from dmcs.payloads.camera.camera import AMP_COLUMNS, RawExposure

#: Structural cards of a header file that the archive's own HDUs define for themselves.
STRUCTURAL = frozenset({"SIMPLE", "BITPIX", "NAXIS", "EXTEND", "CHECKSUM", "DATASUM"})


class ChecksumError(ValueError):
    """A file whose FITS checksums or md5 do not match its content."""


def segment_name(amp: int) -> str:
    """The camera's segment name: SEGMENT<row><column> (SEGMENT10 ... SEGMENT07 style)."""
    row, col = divmod(amp, AMP_COLUMNS)
    return f"SEGMENT{1 - row}{col if row == 0 else AMP_COLUMNS - 1 - col}"


def assemble(
    raw: RawExposure, header: fits.Header | None, cards: dict[str, str | int | float | bool]
) -> fits.HDUList:
    """The HDUs of one CCD file: header-service cards, then ``cards``, then the CCD's own
    metadata for keys neither of those set; one int32 image HDU per amplifier."""
    primary = fits.PrimaryHDU()
    primary.header["LONGSTRN"] = ("OGIP 1.0", "long strings continue on CONTINUE cards")
    if header is not None:
        for card in header.cards:
            if card.keyword not in STRUCTURAL:
                primary.header.append(card)
    for key, value in cards.items():
        primary.header[key] = value
    for key, value in raw.metadata.items():
        if key not in primary.header:
            primary.header[key] = value
    segments = [fits.ImageHDU(data=amp, name=segment_name(i)) for i, amp in enumerate(raw.amps)]
    return fits.HDUList([primary, *segments])


def write_atomically(hdus: fits.HDUList, path: Path) -> tuple[str, int]:
    """Write with checksums via a temporary file and rename; the file's md5 and size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    hdus.writeto(tmp, checksum=True, overwrite=True)
    digest = hashlib.md5()
    with tmp.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
        os.fsync(stream.fileno())
    size = tmp.stat().st_size
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return digest.hexdigest(), size


def verify(path: Path, md5: str) -> None:
    """Raise ChecksumError unless every HDU's CHECKSUM/DATASUM and the file's md5 match."""
    data = path.read_bytes()
    if hashlib.md5(data).hexdigest() != md5:
        raise ChecksumError(f"{path}: md5 differs from the catalog's {md5}")
    with warnings.catch_warnings():
        warnings.simplefilter("error", AstropyUserWarning)
        try:
            with fits.open(path, checksum=True) as hdus:
                missing = [h.name for h in hdus if "CHECKSUM" not in h.header]
                for hdu in hdus:
                    _ = hdu.data
        except AstropyUserWarning as err:
            raise ChecksumError(f"{path}: {err}") from None
    if missing:
        raise ChecksumError(f"{path}: HDUs without CHECKSUM: {', '.join(missing)}")
