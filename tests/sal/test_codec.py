"""Avro single-object encoding of every field type, and what happens to bad bytes."""

from __future__ import annotations

import pytest

from dmcs.sal.codec import MARKER, DecodeError, decode_body, encode, split_header
from dmcs.sal.interface import TopicKind
from dmcs.sal.interfaces.test import TEST

Scalars = TEST.telemetry["scalars"]
Arrays = TEST.telemetry["arrays"]


def test_schema_uses_the_observatory_field_widths() -> None:
    scalars = TEST.spec(TopicKind.TELEMETRY, "scalars").schema
    fields = {f["name"]: f["type"] for f in scalars["fields"]}
    assert [fields[n] for n in ("boolean0", "int0", "long0", "float0", "double0", "string0")] == [
        "boolean", "int", "long", "float", "double", "string"]
    schema = TEST.spec(TopicKind.TELEMETRY, "arrays").schema
    arrays = {f["name"]: f["type"] for f in schema["fields"]}
    assert arrays["float0"] == {"type": "array", "items": "float"}
    assert fields["private_sndStamp"] == "double"


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("scalars", dict(boolean0=True, int0=-7, long0=2**40, float0=0.5, double0=1e300,
                         string0="héllo")),
        ("arrays", dict(boolean0=[True, False, True, False, True], int0=[1, 2, 3, 4, 5],
                        long0=[2**40] * 5, float0=[0.25] * 5, double0=[1e-300] * 5)),
    ],
)
def test_round_trip_every_type(name: str, values: dict[str, object]) -> None:
    spec = TEST.spec(TopicKind.TELEMETRY, name)
    record = TEST.telemetry[name](salIndex=3, **values).model_dump()
    raw = encode(spec.parsed_schema, spec.header, record)
    assert raw[:2] == MARKER
    assert split_header(raw) == spec.fingerprint
    assert decode_body(raw, spec.parsed_schema) == record


def test_non_avro_bytes_are_named() -> None:
    with pytest.raises(DecodeError, match="not Avro single-object encoding"):
        split_header(b'{"json": true}')


def test_truncated_body_is_detected() -> None:
    spec = TEST.spec(TopicKind.TELEMETRY, "scalars")
    raw = encode(spec.parsed_schema, spec.header, Scalars(string0="x" * 50).model_dump())
    with pytest.raises(DecodeError, match="does not match its schema"):
        decode_body(raw[:-20], spec.parsed_schema)


def test_body_of_another_schema_is_detected() -> None:
    arrays = TEST.spec(TopicKind.TELEMETRY, "arrays")
    scalars = TEST.spec(TopicKind.TELEMETRY, "scalars")
    raw = encode(arrays.parsed_schema, scalars.header, Arrays().model_dump())
    with pytest.raises(DecodeError, match="does not match its schema"):
        decode_body(raw, scalars.parsed_schema)


def test_every_topic_has_a_distinct_fingerprint() -> None:
    prints = [spec.fingerprint for spec in TEST.specs()]
    assert len(prints) == len(set(prints))
