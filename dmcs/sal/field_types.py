"""Field types of SAL topics: the observatory's scalar widths, and fixed-length arrays.

Python has one int and one float; the wire (Avro) and the EFD distinguish int/long and
float/double, so interface models annotate fields with these aliases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, get_args

from pydantic import Field


@dataclass(frozen=True)
class AvroPrimitive:
    """The Avro type a scalar field is written as."""

    name: str


@dataclass(frozen=True)
class AvroArray:
    """A fixed-length array field: Avro item type and the length every sample has."""

    item: str
    length: int


Bool = Annotated[bool, AvroPrimitive("boolean")]
Int = Annotated[int, AvroPrimitive("int"), Field(ge=-(2**31), le=2**31 - 1)]
Long = Annotated[int, AvroPrimitive("long"), Field(ge=-(2**63), le=2**63 - 1)]
Float = Annotated[float, AvroPrimitive("float")]
Double = Annotated[float, AvroPrimitive("double")]
String = Annotated[str, AvroPrimitive("string")]


#: The scalar types an interface file names, by their wire (Avro) name.
SCALAR_TYPES: dict[str, Any] = {
    "boolean": Bool, "int": Int, "long": Long, "float": Float, "double": Double, "string": String,
}


def zero(item: str) -> Any:
    """The value a field of type `item` (a SCALAR_TYPES name) starts with: False, 0, 0.0, ""."""
    return get_args(SCALAR_TYPES[item])[0]()


def array_type(item: str, length: int) -> Any:
    """A fixed-length array of `item` (a SCALAR_TYPES name): exactly `length` values."""
    python = get_args(SCALAR_TYPES[item])[0]
    return Annotated[list[python], AvroArray(item, length),  # type: ignore[valid-type]
                     Field(min_length=length, max_length=length)]
