"""The Confluent wire format: byte 0, the schema's 4-byte big-endian registry id, Avro body.

Every writer and reader of dmcs uses it (SAL topics, the alert stream), as ts_salobj, Telegraf,
Kafka Connect and the alert brokers do: a program with a Schema Registry client and no dmcs
code decodes every message. The id is issued by the registry for the topic's subject
(:mod:`dmcs.sal.registry`); readers decode with the writer's schema (fetched by id once)
resolved against their own, so a writer with a newer schema does not break an older reader.
"""

from __future__ import annotations

import io
import struct
from typing import Any

from fastavro import schemaless_reader, schemaless_writer
from fastavro.read import SchemaResolutionError

MAGIC = 0
HEADER_LEN = 5
_HEADER = struct.Struct(">bI")


class DecodeError(ValueError):
    """A message could not be decoded; the text says why."""


def header(schema_id: int) -> bytes:
    """The 5 bytes in front of every message written with schema `schema_id`."""
    return _HEADER.pack(MAGIC, schema_id)


def encode(parsed_schema: Any, prefix: bytes, record: dict[str, Any]) -> bytes:
    """Encode `record` after `prefix` (the topic's precomputed :func:`header`)."""
    buf = io.BytesIO()
    buf.write(prefix)
    schemaless_writer(buf, parsed_schema, record)
    return buf.getvalue()


def schema_id(raw: bytes | None) -> int:
    """The registry id a message was written with, or DecodeError if it is not framed."""
    if raw is None or len(raw) < HEADER_LEN or raw[0] != MAGIC:
        shown = (raw or b"")[:12]
        raise DecodeError(f"not Confluent wire format (0x00 + 4-byte schema id; starts {shown!r})")
    return int(_HEADER.unpack_from(raw)[1])


def decode_body(raw: bytes, writer_schema: Any, reader_schema: Any = None) -> dict[str, Any]:
    """Decode the body after the header with the writer's schema, resolved to the reader's.

    Every byte must belong to the record: a truncated or padded body is a DecodeError.
    """
    buf = io.BytesIO(raw)
    buf.seek(HEADER_LEN)
    try:
        record: dict[str, Any] = schemaless_reader(  # type: ignore[assignment]
            buf, writer_schema, reader_schema)
    except (EOFError, struct.error, UnicodeDecodeError, IndexError, ValueError, TypeError,
            KeyError, SchemaResolutionError) as err:
        raise DecodeError(f"body does not match its schema: {err!r}") from err
    if buf.tell() != len(raw):
        raise DecodeError(
            f"body does not match its schema: {len(raw) - buf.tell()} bytes left over"
        )
    return record
