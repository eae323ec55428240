"""Avro records to InfluxDB line protocol, in the observatory EFD's layout.

Measurement = the full Kafka topic name; no tags; every field a field (`salIndex` an integer);
arrays flattened to `name0 … nameN-1`; integers suffixed `i`; strings quoted with `\\` and `"`
escaped (newlines may stay inside quotes). InfluxDB rejects NaN and ±inf, so such values are
left out of the point.

This is the per-field formatter, for any decoded record; the EFD writer's fast path compiles
a schema's decoding and formatting into one function (:mod:`dmcs.telemetry.avro_lines`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

#: (record, timestamp in µs) -> one line, newline-terminated.
Formatter = Callable[[dict[str, Any], int], str]


def escape_string(value: str) -> str:
    """A string field value's inside, as line protocol needs it."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def escape_measurement(name: str) -> str:
    return name.replace(",", "\\,").replace(" ", "\\ ")


def _field_pieces(name: str, value: Any) -> list[str]:
    """`name=value` pieces for one field of any decoded type (nested names joined by `_`)."""
    if value is None:
        return []
    if isinstance(value, bool):
        return [f"{name}={value}"]
    if isinstance(value, int):
        return [f"{name}={value}i"]
    if isinstance(value, float):
        return [f"{name}={value!r}"] if math.isfinite(value) else []
    if isinstance(value, str):
        return [f'{name}="{escape_string(value)}"']
    if isinstance(value, (bytes, bytearray)):
        return [f'{name}="{value.hex()}"']
    if isinstance(value, (list, tuple)):
        return [p for i, v in enumerate(value) for p in _field_pieces(f"{name}{i}", v)]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _field_pieces(f"{name}_{k}", v)]
    return [f'{name}="{escape_string(str(value))}"']


def generic_formatter(measurement: str) -> Formatter:
    """A formatter that inspects every value (any Avro type; drops None, NaN and ±inf)."""
    head = escape_measurement(measurement)

    def formatter(record: dict[str, Any], ts: int) -> str:
        pieces = [p for name, value in record.items() for p in _field_pieces(name, value)]
        return f"{head} {','.join(pieces)} {ts}\n" if pieces else ""

    return formatter
