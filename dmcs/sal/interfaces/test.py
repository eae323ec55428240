"""The Test component: every field type, for tests and benchmarks."""

from __future__ import annotations

from dmcs.sal.field_types import Bool, Double, Float, Int, Long, String, fixed_array
from dmcs.sal.interface import Interface
from dmcs.sal.interfaces.generic import GENERIC_COMMANDS, GENERIC_EVENTS
from dmcs.sal.sample import SalSample

ARRAY_LENGTH = 5


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

    boolean0: fixed_array("boolean", ARRAY_LENGTH)
    int0: fixed_array("int", ARRAY_LENGTH)
    long0: fixed_array("long", ARRAY_LENGTH)
    float0: fixed_array("float", ARRAY_LENGTH)
    double0: fixed_array("double", ARRAY_LENGTH)


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
