"""The EFD writer's compiled converters write exactly the lines fastavro + the per-field
formatter write, for every SAL field type, extreme values, NaN/inf and malformed bodies."""

from __future__ import annotations

import math
import random

import pytest

from dmcs.sal.codec import encode, header
from dmcs.sal.interface import TopicKind, TopicSpec
from dmcs.sal.interfaces import TEST
from dmcs.telemetry.avro_lines import (
    DECODE_ERRORS,
    compile_converter,
    fastavro_converter,
)

SCALARS = TEST.spec(TopicKind.TELEMETRY, "scalars")
ARRAYS = TEST.spec(TopicKind.TELEMETRY, "arrays")
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
PREFIX = header(12345)
FLOATS = (0.0, -0.0, 0.1, 1 / 3, 1e300, -1e-300, 2.5e-45, math.nan, math.inf, -math.inf)
STRINGS = ("", "x", 'he said "hi", C:\\dir\\ x=1\nnext', "héllo ✓", "y" * 300)


def _record(spec: TopicSpec, rng: random.Random) -> dict[str, object]:
    if spec is SCALARS:
        fields: dict[str, object] = dict(
            boolean0=rng.random() < 0.5, byte0=rng.randint(0, 255),
            short0=rng.randint(-(2**15), 2**15 - 1), int0=rng.randint(*INT32),
            long0=rng.randint(*INT32), longLong0=rng.randint(*INT64),
            unsignedShort0=rng.randint(0, 2**16 - 1), unsignedInt0=rng.randint(0, 2**32 - 1),
            float0=rng.choice(FLOATS), double0=rng.choice(FLOATS), string0=rng.choice(STRINGS))
    else:
        fields = dict(boolean0=[rng.random() < 0.5 for _ in range(5)],
                      int0=[rng.randint(*INT32) for _ in range(5)],
                      longLong0=[rng.randint(*INT64) for _ in range(5)],
                      unsignedInt0=[rng.randint(0, 2**32 - 1) for _ in range(5)],
                      float0=[rng.choice(FLOATS) for _ in range(5)],
                      double0=[rng.choice(FLOATS) for _ in range(5)])
    record = spec.model(salIndex=rng.randint(0, 2**31 - 1), **fields).model_dump()
    record["private_sndStamp"] = 1.7e9 + rng.random()
    record["private_efdStamp"] = rng.choice((0.0, record["private_sndStamp"] - 37.0))
    record["private_identity"] = rng.choice(STRINGS)
    return record


@pytest.mark.parametrize("spec", [SCALARS, ARRAYS], ids=["scalars", "arrays"])
def test_compiled_lines_equal_fastavro_lines(spec: TopicSpec) -> None:
    fast = compile_converter("lsst.sal.Test.x", spec.schema)
    reference = fastavro_converter("lsst.sal.Test.x", spec.schema)
    rng = random.Random(7)
    for _ in range(500):
        raw = encode(spec.parsed_schema, PREFIX, _record(spec, rng))
        assert fast(raw, 0, lambda ts: ts, 37.0) == reference(raw, 0, lambda ts: ts, 37.0)


def test_nan_and_inf_are_left_out_and_time_is_claimed() -> None:
    convert = compile_converter("lsst.sal.Test.scalars", SCALARS.schema)
    record = SCALARS.model(salIndex=1, float0=math.nan, double0=-math.inf).model_dump()
    record["private_sndStamp"] = 1_700_000_037.25
    raw = encode(SCALARS.parsed_schema, PREFIX, record)
    line = convert(raw, 0, lambda ts: ts + 1, 37.0)
    assert "float0" not in line and "double0" not in line
    assert line.endswith(" 1700000000250001\n")  # UTC µs, moved 1 µs on by the claim
    assert "private_efdStamp=1700000000.250001" in line


def test_the_point_time_is_private_efd_stamp_as_telegraf_takes_it() -> None:
    convert = compile_converter("lsst.sal.Test.scalars", SCALARS.schema)
    record = SCALARS.model(salIndex=1, int0=3).model_dump()
    record["private_sndStamp"] = 1_700_000_037.25
    record["private_efdStamp"] = 1_700_000_000.5  # not sndStamp - 37: the writer's clock wins
    line = convert(encode(SCALARS.parsed_schema, PREFIX, record), 0, lambda ts: ts, 37.0)
    assert line.endswith(" 1700000000500000\n")


def test_malformed_bodies_raise_decode_errors_and_claim_no_time() -> None:
    convert = compile_converter("lsst.sal.Test.arrays", ARRAYS.schema)
    raw = encode(ARRAYS.parsed_schema, PREFIX, _record(ARRAYS, random.Random(1)))
    claimed: list[int] = []

    def claim(ts: int) -> int:
        claimed.append(ts)
        return ts

    for bad in (raw[:-1], raw + b"\x00", raw[:6], raw[:5] + b"\xff" * 12):
        with pytest.raises(DECODE_ERRORS):
            convert(bad, 0, claim, 37.0)
    assert claimed == []
