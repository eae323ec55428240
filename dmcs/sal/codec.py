"""Avro single-object encoding: marker C3 01, 8-byte schema fingerprint, Avro body.

A program with none of our Python classes decodes a message by looking the fingerprint up in
the schemas topic (see :mod:`dmcs.sal.schema_registry`).
"""

from __future__ import annotations

import io
import struct
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

MARKER = b"\xc3\x01"
HEADER_LEN = 10


class DecodeError(ValueError):
    """A message could not be decoded; the text says why."""


def encode(parsed_schema: Any, header: bytes, record: dict[str, Any]) -> bytes:
    """Encode `record`; `header` is MARKER + fingerprint, precomputed per topic."""
    buf = io.BytesIO()
    buf.write(header)
    schemaless_writer(buf, parsed_schema, record)
    return buf.getvalue()


def split_header(raw: bytes | None) -> bytes:
    """Return the fingerprint of a single-object-encoded message, or raise DecodeError."""
    if raw is None or len(raw) < HEADER_LEN or raw[:2] != MARKER:
        shown = (raw or b"")[:12]
        raise DecodeError(f"not Avro single-object encoding (starts {shown!r})")
    return raw[2:HEADER_LEN]


def decode_body(raw: bytes, parsed_schema: Any) -> dict[str, Any]:
    """Decode the body after the header; every byte must belong to the record."""
    buf = io.BytesIO(raw)
    buf.seek(HEADER_LEN)
    try:
        record: dict[str, Any] = schemaless_reader(buf, parsed_schema, None)  # type: ignore[assignment]
    except (EOFError, struct.error, UnicodeDecodeError, IndexError, ValueError) as err:
        raise DecodeError(f"body does not match its schema: {err!r}") from err
    if buf.tell() != len(raw):
        raise DecodeError(
            f"body does not match its schema: {len(raw) - buf.tell()} bytes left over"
        )
    return record
