"""The FITS checksum convention (DATASUM and CHECKSUM cards), computed on bytes.

astropy computes the same values, but through header objects whose every card costs a
configuration lookup: at 256 px that is half the time of archiving a CCD. Here a segment's
header is bytes from a template, so only its sums are computed; astropy and fitsverify check
what this writes (tests/services/archiver).

DATASUM is the 32-bit ones'-complement sum of the data unit (big-endian words), in decimal;
CHECKSUM is the ASCII encoding (SPR A.7.2) of the complement of the sum of the header,
written with CHECKSUM = '0000000000000000', and DATASUM, so that the whole HDU sums to -0.
"""

from __future__ import annotations

import numpy as np

WORD = 0xFFFFFFFF
#: Characters the encoding avoids (punctuation between digits and letters).
_EXCLUDED = frozenset(b":;<=>?@[\\]^_`")
ZERO_CHECKSUM = b"0" * 16


def ones_complement_sum(data: bytes | memoryview | np.ndarray, start: int = 0) -> int:
    """The 32-bit ones'-complement sum of ``data`` (a whole number of 4-byte words) + ``start``."""
    words = np.frombuffer(data, dtype=">u4")
    total = int(words.sum(dtype=np.uint64)) + start
    while total > WORD:
        total = (total & WORD) + (total >> 32)
    return total


def _encode_byte(byte: int) -> list[int]:
    quotient, remainder = byte // 4 + ord("0"), byte % 4
    chars = [quotient + remainder, quotient, quotient, quotient]
    moved = True
    while moved:
        moved = False
        for j in (0, 2):
            while chars[j] in _EXCLUDED or chars[j + 1] in _EXCLUDED:
                chars[j] += 1
                chars[j + 1] -= 1
                moved = True
    return chars


def encode_checksum(value: int) -> str:
    """The 16 ASCII characters of a CHECKSUM card for the 32-bit ``value``."""
    encoded = [0] * 16
    for i in range(4):
        for j, char in enumerate(_encode_byte((value >> (8 * (3 - i))) & 0xFF)):
            encoded[4 * j + i] = char
    return bytes(encoded[(i + 15) % 16] for i in range(16)).decode("ascii")


def checksum_card_value(header_with_zero_checksum: bytes, datasum: int) -> str:
    """CHECKSUM for a header written with ZERO_CHECKSUM as its value, and its data's sum."""
    return encode_checksum(~ones_complement_sum(header_with_zero_checksum, datasum) & WORD)
