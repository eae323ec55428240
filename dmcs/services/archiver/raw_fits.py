"""Raw CCD files: one primary header (image + CCD metadata) and 16 amplifier segments.

Every HDU carries CHECKSUM/DATASUM; the file is laid out whole in memory, its md5 taken there,
written to a temporary name in its final directory, fsynced, and renamed, so a reader (or a
restarted archiver) sees either the whole file or none. ``verify`` checks a file the way a
consumer would: FITS checksums (and an md5, when one is known).

Why laid out whole, in a buffer each worker thread keeps: the byte-order conversion writes
straight into the file's image (no array per segment), the pages are warm (a fresh 71 MB
allocation is zeroed by the kernel first), and the file goes to the disk by direct I/O where
the filesystem takes it: copying a 4k CCD into the page cache cost more CPU than its md5, for
pages nobody reads back soon and the fsync flushes anyway.
"""

from __future__ import annotations

import errno
import hashlib
import mmap
import os
import threading
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

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
#: Direct I/O writes whole blocks from aligned memory (4096 covers 512- and 4096-byte sectors).
DIRECT_ALIGN = 4096
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
_O_DIRECT = getattr(os, "O_DIRECT", 0)


class ChecksumError(ValueError):
    """A file whose FITS checksums or md5 do not match its content."""


def segment_name(amp: int) -> str:
    """The camera's segment name: SEGMENT<row><column> (SEGMENT10 ... SEGMENT07 style)."""
    row, col = divmod(amp, AMP_COLUMNS)
    return f"SEGMENT{1 - row}{col if row == 0 else AMP_COLUMNS - 1 - col}"


@dataclass(frozen=True)
class Segment:
    """One amplifier's image HDU: its name and its int32 pixels (in either byte order)."""

    name: str
    data: np.ndarray

    def _head(self) -> bytes:
        rows, columns = self.data.shape
        return _segment_cards(columns, rows) + _card(f"EXTNAME = '{self.name}'", "extension name")

    @property
    def nbytes(self) -> int:
        """The HDU's size in the file: header (its last two cards and END), data, padding."""
        header = len(_padded(self._head() + b" " * 160 + END_CARD))
        return header + self.data.nbytes + (-self.data.nbytes % FITS_BLOCK)

    def lay_out(self, out: np.ndarray) -> int:
        """Put the HDU at the start of ``out`` (bytes): the data converted to big-endian in
        place, then the header with its DATASUM and CHECKSUM (see ``fits_checksum``); its size."""
        head, size, data_size = self._head(), self.nbytes, self.data.nbytes
        start = size - data_size - (-data_size % FITS_BLOCK)
        big_endian = out[start : start + data_size].view(">i4").reshape(self.data.shape)
        np.copyto(big_endian, self.data)
        out[start + data_size : size] = 0
        datasum = ones_complement_sum(big_endian)
        tail = _card(f"DATASUM = '{datasum!s:<8}'", "data unit checksum") + END_CARD
        unsigned = _padded(head + _card(f"CHECKSUM= '{ZERO_CHECKSUM.decode()}'", CHECKSUM_NOTE)
                           + tail)
        checksum = checksum_card_value(unsigned, datasum)
        header = _padded(head + _card(f"CHECKSUM= '{checksum}'", CHECKSUM_NOTE) + tail)
        out[:start] = np.frombuffer(header, dtype=np.uint8)
        return size


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
    metadata for keys neither of those set; one int32 image HDU per amplifier (converted to
    FITS's big-endian order only when laid out)."""
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
        yield Segment(segment_name(i), amp)


class _Staging(threading.local):
    """Each thread's buffer for the file being written: page-aligned, reused, grown on need."""

    buffer: mmap.mmap | None = None

    def get(self, size: int) -> np.ndarray:
        capacity = size + (-size % DIRECT_ALIGN)
        if self.buffer is None or len(self.buffer) < capacity:
            self.buffer = mmap.mmap(-1, capacity)
        return np.frombuffer(self.buffer, dtype=np.uint8)


_staging = _Staging()


def write_atomically(hdus: Iterable[fits.PrimaryHDU | Segment], path: Path) -> tuple[str, int]:
    """Write with checksums to a temporary file of this writer's own, fsync and rename over
    ``path``; the file's md5 (of the bytes as laid out, none read back) and size.

    The directory is not synced here (see ``sync_directory``: once per exposure).
    """
    parts: list[bytes | Segment] = []
    for hdu in hdus:
        if isinstance(hdu, Segment):
            parts.append(hdu)
        else:
            hdu.add_checksum()
            parts.append(hdu.header.tostring().encode("ascii"))
    size = sum(len(p) if isinstance(p, bytes) else p.nbytes for p in parts)
    image = _staging.get(size)
    position = 0
    for part in parts:
        if isinstance(part, bytes):
            image[position : position + len(part)] = np.frombuffer(part, dtype=np.uint8)
            position += len(part)
        else:
            position += part.lay_out(image[position:])
    md5 = hashlib.md5(image[:size].data).hexdigest()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        _write_durably(tmp, image, size)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return md5, size


def _write_durably(path: Path, image: np.ndarray, size: int) -> None:
    """``image[:size]`` as a new file, on the disk when this returns: by direct I/O (whole
    aligned blocks, then cut to ``size``) unless the filesystem refuses it (tmpfs)."""
    try:
        descriptor = os.open(path, _NEW_FILE | _O_DIRECT, 0o666)
        length = size + (-size % DIRECT_ALIGN)
    except OSError as err:
        if err.errno != errno.EINVAL or not _O_DIRECT:
            raise
        descriptor, length = os.open(path, _NEW_FILE, 0o666), size
    try:
        data = image[:length].data
        written = 0
        while written < length:
            written += os.write(descriptor, data[written:])
        if length != size:
            os.ftruncate(descriptor, size)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


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
