"""The Confluent wire format for every field type, schema resolution, and what bad bytes get.

The codec is also fuzzed (hypothesis): whatever the bytes, decoding either returns a record of
the schema or raises DecodeError naming why, never another exception.
"""

from __future__ import annotations

import json

import pytest
from fastavro import parse_schema
from hypothesis import given, settings
from hypothesis import strategies as st

from dmcs.sal.codec import DecodeError, decode_body, encode, header, schema_id
from dmcs.sal.interface import TopicKind
from dmcs.sal.interfaces import TEST

Scalars = TEST.telemetry["scalars"]
Arrays = TEST.telemetry["arrays"]
SCALARS = TEST.spec(TopicKind.TELEMETRY, "scalars")


def test_schema_uses_the_observatory_field_widths() -> None:
    fields = {f["name"]: f["type"] for f in SCALARS.schema["fields"]}
    assert {n: fields[n] for n in ("boolean0", "byte0", "short0", "int0", "long0", "longLong0",
                                   "unsignedShort0", "unsignedInt0", "float0", "double0",
                                   "string0")} == {
        "boolean0": "boolean", "byte0": "int", "short0": "int", "int0": "int", "long0": "int",
        "longLong0": "long", "unsignedShort0": "int", "unsignedInt0": "long",
        "float0": "float", "double0": "double", "string0": "string"}
    arrays = {f["name"]: f["type"] for f in TEST.spec(TopicKind.TELEMETRY, "arrays").schema[
        "fields"]}
    assert arrays["float0"] == {"type": "array", "items": "float"}
    assert fields["private_sndStamp"] == "double"


def test_header_is_magic_byte_and_big_endian_id() -> None:
    assert header(1101) == b"\x00\x00\x00\x04\x4d"
    assert schema_id(header(2**31 - 1) + b"body") == 2**31 - 1


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("scalars", dict(boolean0=True, byte0=255, short0=-32768, int0=-7, long0=2**31 - 1,
                         longLong0=2**40, unsignedShort0=65535, unsignedInt0=2**32 - 1,
                         float0=0.5, double0=1e300, string0="héllo")),
        ("arrays", dict(boolean0=[True, False, True, False, True], int0=[1, 2, 3, 4, 5],
                        longLong0=[2**40] * 5, float0=[0.25] * 5, double0=[1e-300] * 5)),
    ],
)
def test_round_trip_every_type(name: str, values: dict[str, object]) -> None:
    spec = TEST.spec(TopicKind.TELEMETRY, name)
    record = TEST.telemetry[name](salIndex=3, **values).model_dump()
    raw = encode(spec.parsed_schema, header(42), record)
    assert raw[:5] == b"\x00\x00\x00\x00\x2a"
    assert schema_id(raw) == 42
    assert decode_body(raw, spec.parsed_schema) == record


def test_out_of_range_values_are_refused_before_encoding() -> None:
    with pytest.raises(ValueError, match="byte0"):
        Scalars(byte0=256)
    with pytest.raises(ValueError, match="unsignedShort0"):
        Scalars(unsignedShort0=-1)
    with pytest.raises(ValueError, match="long0"):
        Scalars(long0=2**31)


def test_an_older_reader_reads_a_newer_writer() -> None:
    """A writer that added a field does not break a reader of the schema before it."""
    newer = json.loads(SCALARS.schema_text)
    newer["fields"].append({"name": "extra0", "type": "double", "default": 0.0,
                            "description": "Added later.", "units": "unitless"})
    record = {**Scalars(salIndex=1, int0=5, string0="old").model_dump(), "extra0": 2.5}
    raw = encode(parse_schema(newer), header(7), record)
    decoded = decode_body(raw, parse_schema(newer), SCALARS.parsed_schema)
    assert decoded["int0"] == 5 and decoded["string0"] == "old"
    assert "extra0" not in decoded


def test_a_newer_reader_fills_a_field_an_older_writer_lacks() -> None:
    older = json.loads(SCALARS.schema_text)
    older["fields"] = [f for f in older["fields"] if f["name"] != "double0"]
    record = Scalars(int0=9).model_dump()
    raw = encode(parse_schema(older), header(8), record)
    decoded = decode_body(raw, parse_schema(older), SCALARS.parsed_schema)
    assert decoded["int0"] == 9 and decoded["double0"] == 0.0


def test_unframed_bytes_are_named() -> None:
    with pytest.raises(DecodeError, match="not Confluent wire format"):
        schema_id(b'{"json": true}')
    with pytest.raises(DecodeError, match="not Confluent wire format"):
        schema_id(b"\x00\x01")


def test_truncated_body_is_detected() -> None:
    raw = encode(SCALARS.parsed_schema, header(1), Scalars(string0="x" * 50).model_dump())
    with pytest.raises(DecodeError, match="does not match its schema"):
        decode_body(raw[:-20], SCALARS.parsed_schema)


def test_body_of_another_schema_is_detected() -> None:
    arrays = TEST.spec(TopicKind.TELEMETRY, "arrays")
    raw = encode(arrays.parsed_schema, header(1), Arrays().model_dump())
    with pytest.raises(DecodeError, match="does not match its schema"):
        decode_body(raw, SCALARS.parsed_schema)


def test_incompatible_writer_is_a_decode_error() -> None:
    other = json.loads(SCALARS.schema_text)
    for field in other["fields"]:
        if field["name"] == "int0":
            field["type"], field["default"] = "string", ""
    raw = encode(parse_schema(other), header(3), {**Scalars().model_dump(), "int0": "x"})
    with pytest.raises(DecodeError, match="does not match its schema"):
        decode_body(raw, parse_schema(other), SCALARS.parsed_schema)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_fuzzed_bytes_decode_or_raise_decode_error(raw: bytes) -> None:
    framed = b"\x00\x00\x00\x00\x01" + raw
    try:
        record = decode_body(framed, SCALARS.parsed_schema)
    except DecodeError:
        return
    assert set(record) >= set(Scalars.user_fields())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=8))
def test_fuzzed_headers_give_an_id_or_decode_error(raw: bytes) -> None:
    try:
        found = schema_id(raw)
    except DecodeError:
        assert len(raw) < 5 or raw[0] != 0
        return
    assert 0 <= found < 2**32
