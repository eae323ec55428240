"""Raw CCD files: one primary header (image + CCD metadata) and 16 amplifier segments.

Every HDU carries CHECKSUM/DATASUM; the file is written to a temporary name in its final
directory, fsynced, and renamed, so a reader (or a restarted archiver) sees either the whole
file or none; its md5 is computed on the way to the disk. ``verify`` checks a file the way a
consumer would: FITS checksums (and an md5, when one is known).
"""

from __future__ import annotations

import hashlib
import os
import threading
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import BinaryIO

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyUserWarning

from dmcs.payloads.camera.camera import AMP_COLUMNS, RawExposure
from dmcs.services.archiver.fits_checksum import (
    ZERO_CHECKSUM,
    checksum_card_value,
    ones_complement_sum,
)

#: Structural cards of a header file that the archive's own HDUs define for themselves.
STRUCTURAL = frozenset({"SIMPLE", "BITPIX", "NAXIS", "EXTEND", "CHECKSUM", "DATASUM"})
FITS_BLOCK = 2880
END_CARD = b"END".ljust(80)
CHECKSUM_NOTE = "HDU checksum"


class ChecksumError(ValueError):
    """A file whose FITS checksums or md5 do not match its content."""


def segment_name(amp: int) -> str:
    """The camera's segment name: SEGMENT<row><column> (SEGMENT10 ... SEGMENT07 style)."""
    row, col = divmod(amp, AMP_COLUMNS)
    return f"SEGMENT{1 - row}{col if row == 0 else AMP_COLUMNS - 1 - col}"


@dataclass(frozen=True)
class Segment:
    """One amplifier's image HDU: its name and its pixels in FITS's big-endian order."""

    name: str
    data: np.ndarray

    def header(self) -> bytes:
        """The HDU's header, with its DATASUM and CHECKSUM (see ``fits_checksum``)."""
        datasum = ones_complement_sum(self.data)
        rows, columns = self.data.shape
        head = _segment_cards(columns, rows) + _card(f"EXTNAME = '{self.name}'", "extension name")
        tail = _card(f"DATASUM = '{datasum!s:<8}'", "data unit checksum") + END_CARD
        unsigned = _padded(head + _card(f"CHECKSUM= '{ZERO_CHECKSUM.decode()}'", CHECKSUM_NOTE)
                           + tail)
        checksum = checksum_card_value(unsigned, datasum)
        return _padded(head + _card(f"CHECKSUM= '{checksum}'", CHECKSUM_NOTE) + tail)


def _card(value: str, comment: str) -> bytes:
    """One 80-column card, the value field 20 columns wide as fixed format has it."""
    keyword, _, rest = value.partition("= ")
    return f"{keyword:<8}= {rest:<20} / {comment}".ljust(80).encode("ascii")


def _padded(header: bytes) -> bytes:
    return header + b" " * (-len(header) % FITS_BLOCK)


@cache
def _segment_cards(columns: int, rows: int) -> bytes:
    """XTENSION … GCOUNT of an int32 image of this shape, as astropy writes them."""
    template = fits.ImageHDU(data=np.zeros((rows, columns), dtype=">i4")).header
    return b"".join(card.image.encode("ascii") for card in template.cards)


def assemble(
    raw: RawExposure, header: fits.Header | None, cards: dict[str, str | int | float | bool]
) -> Iterator[fits.PrimaryHDU | Segment]:
    """The HDUs of one CCD file: header-service cards, then ``cards``, then the CCD's own
    metadata for keys neither of those set; one int32 image HDU per amplifier.

    The segments are made one at a time, as the writer takes them: each is converted to
    FITS's big-endian order, summed, hashed and written while it is in the CPU's cache.
    """
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
    yield primary
    for i, amp in enumerate(raw.amps):
        yield Segment(segment_name(i), amp.astype(">i4", copy=False))


class _HashingWriter:
    """A file that hashes what is written to it: the md5 without reading the file back."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.md5 = hashlib.md5()
        self.size = 0

    def write(self, data: bytes | memoryview) -> None:
        self.md5.update(data)
        self.stream.write(data)
        self.size += memoryview(data).nbytes


def write_atomically(hdus: Iterable[fits.PrimaryHDU | Segment], path: Path) -> tuple[str, int]:
    """Write with checksums to a temporary file of this writer's own, fsync and rename over
    ``path``; the file's md5 (computed while writing) and size.

    Each HDU's CHECKSUM/DATASUM are computed in memory, then its header and data are written
    as FITS lays them out, so the bytes pass one way only. The directory is not synced here
    (see ``sync_directory``: once per exposure).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with tmp.open("wb") as stream:
            writer = _HashingWriter(stream)
            for hdu in hdus:
                if isinstance(hdu, Segment):
                    writer.write(hdu.header())
                    data = np.ascontiguousarray(hdu.data)
                    writer.write(data.view(np.uint8).data)
                    writer.write(b"\0" * (-data.nbytes % FITS_BLOCK))
                else:
                    hdu.add_checksum()
                    writer.write(hdu.header.tostring().encode("ascii"))
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return writer.md5.hexdigest(), writer.size


def sync_directory(directory: Path) -> None:
    """Make the renames into ``directory`` durable (one fsync for all of an exposure's files)."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def verify(path: Path, md5: str | None = None) -> None:
    """Raise ChecksumError unless every HDU has CHECKSUM/DATASUM and they match (and the
    file's md5 is ``md5``, when one is given)."""
    if md5 is not None and hashlib.md5(path.read_bytes()).hexdigest() != md5:
        raise ChecksumError(f"{path}: md5 differs from {md5}")
    with warnings.catch_warnings():
        warnings.simplefilter("error", AstropyUserWarning)
        try:
            with fits.open(path, checksum=True) as hdus:
                missing = [h.name for h in hdus if "CHECKSUM" not in h.header]
                for hdu in hdus:
                    _ = hdu.data
        except (AstropyUserWarning, OSError) as err:
            raise ChecksumError(f"{path}: {err}") from None
    if missing:
        raise ChecksumError(f"{path}: HDUs without CHECKSUM: {', '.join(missing)}")
