"""Avro schemas generated from the pydantic models that define each topic."""

from __future__ import annotations

from typing import Any

from fastavro import parse_schema
from fastavro.schema import fingerprint, to_parsing_canonical_form
from pydantic import BaseModel

from dmcs.sal.field_types import AvroArray, AvroPrimitive

_DEFAULT_FOR_PYTHON = {bool: "boolean", int: "long", float: "double", str: "string"}


def _field_type(model: type[BaseModel], name: str) -> Any:
    info = model.model_fields[name]
    for meta in info.metadata:
        if isinstance(meta, AvroArray):
            return {"type": "array", "items": meta.item}
        if isinstance(meta, AvroPrimitive):
            return meta.name
    if info.annotation in _DEFAULT_FOR_PYTHON:
        return _DEFAULT_FOR_PYTHON[info.annotation]
    raise TypeError(f"{model.__name__}.{name}: no Avro type for {info.annotation!r}")


def avro_schema(model: type[BaseModel], record_name: str, namespace: str) -> dict[str, Any]:
    """The Avro record schema of `model`, every field with its default."""
    fields = []
    for name, info in model.model_fields.items():
        default = info.get_default(call_default_factory=True)
        fields.append({"name": name, "type": _field_type(model, name), "default": default})
    doc = (model.__doc__ or "").strip().split("\n")[0]
    return {"type": "record", "name": record_name, "namespace": namespace, "doc": doc,
            "fields": fields}


def schema_fingerprint(schema: dict[str, Any]) -> bytes:
    """The 8-byte little-endian CRC-64-AVRO fingerprint of the schema's canonical form."""
    canonical = to_parsing_canonical_form(parse_schema(schema))
    return int(fingerprint(canonical, "CRC-64-AVRO"), 16).to_bytes(8, "little")
