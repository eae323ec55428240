"""Field types of SAL topics: ts_xml's IDL types, their Avro types and ranges, and arrays.

Interface files name a field's type as ts_xml does (``long``, ``long long``, ``unsigned
short``, ...). On the wire each is the Avro type ts_salobj uses: ``byte``, ``short``,
``unsigned short``, ``int`` and ``long`` are Avro ``int``; ``long long``, ``unsigned int`` and
``unsigned long`` are Avro ``long``. Python has one int and one float, so the models carry the
SAL type (:class:`WireType`) and the range of each integer type as validation bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field


@dataclass(frozen=True)
class SalType:
    """One IDL type of ts_xml: its Avro type, Python type and, for integers, its range."""

    name: str
    avro: str
    python: type
    low: int | None = None
    high: int | None = None


_TYPES = (
    SalType("boolean", "boolean", bool),
    SalType("byte", "int", int, 0, 2**8 - 1),
    SalType("short", "int", int, -(2**15), 2**15 - 1),
    SalType("unsigned short", "int", int, 0, 2**16 - 1),
    SalType("int", "int", int, -(2**31), 2**31 - 1),
    SalType("long", "int", int, -(2**31), 2**31 - 1),
    SalType("unsigned int", "long", int, 0, 2**32 - 1),
    SalType("unsigned long", "long", int, 0, 2**32 - 1),
    SalType("long long", "long", int, -(2**63), 2**63 - 1),
    SalType("float", "float", float),
    SalType("double", "double", float),
    SalType("string", "string", str),
)
#: Every type an interface file may name, by its ts_xml (IDL) name.
SAL_TYPES: dict[str, SalType] = {t.name: t for t in _TYPES}


@dataclass(frozen=True)
class WireType:
    """Model-field metadata: the field's SAL type, and its fixed length if it is an array."""

    sal: str
    count: int = 1

    @property
    def avro(self) -> Any:
        item = SAL_TYPES[self.sal].avro
        return {"type": "array", "items": item} if self.count > 1 else item


def annotation(sal: str, count: int = 1) -> Any:
    """The pydantic annotation of a field of SAL type `sal` (an array if `count` > 1)."""
    kind = SAL_TYPES[sal]
    item: Any = kind.python
    if kind.low is not None:
        item = Annotated[kind.python, Field(ge=kind.low, le=kind.high)]
    if count > 1:
        return Annotated[list[item], WireType(sal, count),
                         Field(min_length=count, max_length=count)]
    return Annotated[item, WireType(sal)]


def zero(sal: str) -> Any:
    """The value a field of SAL type `sal` starts with: False, 0, 0.0 or ""."""
    return SAL_TYPES[sal].python()


#: Annotations for the models dmcs declares in Python (private fields).
Long = Annotated[int, WireType("long"), Field(ge=-(2**31), le=2**31 - 1)]
Double = Annotated[float, WireType("double")]
String = Annotated[str, WireType("string")]
