"""Avro schemas of SAL topics, made from their models by ts_xml's rules (as ts_salobj does).

Record ``name`` is the SAL topic name (``command_setScalars``, ``logevent_heartbeat``,
``scalars``, ``ackcmd``) and ``namespace`` is ``lsst.sal.<Component>`` whatever the topic
subname; fields are ``salIndex`` (indexed components only), the private fields, then the
topic's own in declaration order, each with ``description`` and ``units``. A field's Avro
default is its type's zero (as ts_salobj's); a dmcs model may start a field elsewhere (a
command's default), which matters to the sender, not to schema resolution.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel

from dmcs.sal.field_types import WireType, zero


def _wire_type(model: type[BaseModel], name: str) -> WireType:
    for meta in model.model_fields[name].metadata:
        if isinstance(meta, WireType):
            return meta
    raise TypeError(f"{model.__name__}.{name} has no SAL type")


def field_units(model: type[BaseModel], name: str) -> str:
    extra = model.model_fields[name].json_schema_extra
    units = extra.get("units") if isinstance(extra, dict) else None
    return str(units) if units else "unitless"


def avro_schema(model: type[BaseModel], record_name: str, namespace: str, *,
                indexed: bool, description: str = "") -> dict[str, Any]:
    """The Avro record schema of `model`."""
    fields = []
    for name, info in model.model_fields.items():
        if name == "salIndex" and not indexed:
            continue
        wire = _wire_type(model, name)
        fields.append({
            "name": name,
            "type": wire.avro,
            "default": [zero(wire.sal)] * wire.count if wire.count > 1 else zero(wire.sal),
            "description": info.description or "",
            "units": field_units(model, name),
        })
    return {"type": "record", "name": record_name, "namespace": namespace,
            "description": description, "fields": fields}


def schema_text(schema: dict[str, Any]) -> str:
    """The schema as registered: compact JSON, keys in schema order."""
    return json.dumps(schema, separators=(",", ":"))


def rev_code(schema: dict[str, Any]) -> str:
    """`private_revCode`: the first 8 hex digits of the md5 of the registered schema text."""
    return hashlib.md5(schema_text(schema).encode()).hexdigest()[:8]
