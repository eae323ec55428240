"""The Test component: every field type, for tests and benchmarks."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from dmcs.sal.field_types import AvroArray, Bool, Double, Float, Int, Long, String
from dmcs.sal.interface import Interface
from dmcs.sal.interfaces.generic import GENERIC_COMMANDS, GENERIC_EVENTS
from dmcs.sal.sample import SalSample

ARRAY_LENGTH = 5
_N = ARRAY_LENGTH

BoolArray = Annotated[list[bool], AvroArray("boolean", _N), Field(min_length=_N, max_length=_N)]
IntArray = Annotated[list[int], AvroArray("int", _N), Field(min_length=_N, max_length=_N)]
LongArray = Annotated[list[int], AvroArray("long", _N), Field(min_length=_N, max_length=_N)]
FloatArray = Annotated[list[float], AvroArray("float", _N), Field(min_length=_N, max_length=_N)]
DoubleArray = Annotated[list[float], AvroArray("double", _N), Field(min_length=_N, max_length=_N)]


class Scalars(SalSample):
    """One field of each scalar type."""

    boolean0: Bool = False
    int0: Int = 0
    long0: Long = 0
    float0: Float = 0.0
    double0: Double = 0.0
    string0: String = ""


class Arrays(SalSample):
    """One fixed-length array of each numeric type."""

    boolean0: BoolArray = [False] * _N
    int0: IntArray = [0] * _N
    long0: LongArray = [0] * _N
    float0: FloatArray = [0.0] * _N
    double0: DoubleArray = [0.0] * _N


class SetScalarsCommand(Scalars):
    """Publish the given scalars as the `scalars` event and telemetry."""


class SetArraysCommand(Arrays):
    """Publish the given arrays as the `arrays` event and telemetry."""


class FaultCommand(SalSample):
    """Go to FAULT with this error code (tests the fault path)."""

    errorCode: Int = 1


class WaitCommand(SalSample):
    """Take `duration` seconds, reporting progress; abortable."""

    duration: Double = 1.0


TEST = Interface(
    name="Test",
    indexed=True,
    description="Test component with every field type; for tests and benchmarks.",
    commands={
        **GENERIC_COMMANDS,
        "setScalars": SetScalarsCommand,
        "setArrays": SetArraysCommand,
        "fault": FaultCommand,
        "wait": WaitCommand,
    },
    events={**GENERIC_EVENTS, "scalars": Scalars, "arrays": Arrays},
    telemetry={"scalars": Scalars, "arrays": Arrays},
)
