"""Avro schema compatibility, as the Schema Registry judges a new version of a subject.

``can_read(reader, writer)`` follows the Avro specification's schema resolution: a reader
reads data written with the writer's schema if every field it has is in the writer's (with a
readable type) or has a default, types are equal or promotable (int → long → float → double,
string ↔ bytes), enum symbols the writer may write are known to the reader, and so on.
The levels say which direction(s) must hold against which earlier versions.
"""

from __future__ import annotations

from typing import Any

from fastavro import parse_schema

LEVELS = ("NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE",
          "FULL", "FULL_TRANSITIVE")
DEFAULT_LEVEL = "BACKWARD"

_PROMOTIONS = {
    "int": {"int", "long", "float", "double"},
    "long": {"long", "float", "double"},
    "float": {"float", "double"},
    "string": {"string", "bytes"},
    "bytes": {"bytes", "string"},
}


def expand(schema: Any) -> Any:
    """The schema with every named type written out in place (so checks need no lookups)."""
    return parse_schema(schema, expand=True, _write_hint=False)


def problems(new: Any, earlier: list[Any], level: str) -> list[str]:
    """Why `new` may not follow `earlier` (oldest first) at compatibility `level`; [] if it may."""
    if level == "NONE" or not earlier:
        return []
    against = earlier if level.endswith("_TRANSITIVE") else earlier[-1:]
    found: list[str] = []
    for old in against:
        if level.startswith(("BACKWARD", "FULL")):
            found += [f"new schema cannot read data written with an earlier one: {p}"
                      for p in can_read(new, old)]
        if level.startswith(("FORWARD", "FULL")):
            found += [f"an earlier schema cannot read data written with the new one: {p}"
                      for p in can_read(old, new)]
    return found


def can_read(reader: Any, writer: Any, path: str = "") -> list[str]:
    """Reasons the `reader` schema cannot read what the `writer` schema wrote (expanded)."""
    where = path or "the record"
    if isinstance(writer, list):
        return [p for branch in writer for p in can_read(reader, branch, path)]
    if isinstance(reader, list):
        if any(not can_read(branch, writer, path) for branch in reader):
            return []
        return [f"{where}: no branch of the reader's union reads {_kind(writer)}"]
    r_kind, w_kind = _kind(reader), _kind(writer)
    if r_kind != w_kind:
        if w_kind in _PROMOTIONS and r_kind in _PROMOTIONS[w_kind]:
            return []
        return [f"{where}: {w_kind} cannot be read as {r_kind}"]
    if r_kind == "record":
        return _records(reader, writer, path)
    if r_kind == "array":
        return can_read(reader["items"], writer["items"], f"{path}[]")
    if r_kind == "map":
        return can_read(reader["values"], writer["values"], f"{path}{{}}")
    if r_kind == "enum":
        missing = sorted(set(writer["symbols"]) - set(reader["symbols"]))
        if missing and "default" not in reader:
            return [f"{where}: enum symbols {', '.join(missing)} unknown to the reader"]
    if r_kind == "fixed" and reader.get("size") != writer.get("size"):
        return [f"{where}: fixed size {writer.get('size')} read as {reader.get('size')}"]
    return []


def _records(reader: dict[str, Any], writer: dict[str, Any], path: str) -> list[str]:
    found = []
    written = {f["name"]: f for f in writer["fields"]}
    for field in reader["fields"]:
        name = field["name"]
        here = f"{path}.{name}" if path else name
        if name in written:
            found += can_read(field["type"], written[name]["type"], here)
        elif "default" not in field:
            found.append(f"field {here} is not written and has no default")
    return found


def _kind(schema: Any) -> str:
    return schema if isinstance(schema, str) else str(schema["type"])
