"""The Avro schema ts_salobj registers for a ts_xml topic, derived from the checked-in copy of
ts_xml (`ts_xml_reference.json`, written by `extract_ts_xml.py`) by ts_salobj's rules; shared by
the conformance test and the salobj-style peer, so neither takes a schema from dmcs's code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REFERENCE = json.loads((Path(__file__).parent / "ts_xml_reference.json").read_text())
AVRO = {"boolean": "boolean", "byte": "int", "short": "int", "unsigned short": "int",
        "int": "int", "long": "int", "unsigned int": "long", "unsigned long": "long",
        "long long": "long", "float": "float", "double": "double", "string": "string"}
ZERO: dict[str, Any] = {"boolean": False, "float": 0.0, "double": 0.0, "string": ""}


#: ts_salobj's private fields: name, Avro type, units, description (salIndex first, only for
#: indexed components).
PRIVATE = (
    ("salIndex", "int", "unitless", "SAL index (only present for indexed SAL components)"),
    ("private_sndStamp", "double", "second", "Time of instance publication"),
    ("private_rcvStamp", "double", "second", "Time of instance reception"),
    ("private_efdStamp", "double", "second", "UTC time for EFD timestamp. An integer (the "
     "number of leap seconds) different from private_sndStamp."),
    ("private_kafkaStamp", "double", "second", "TAI time at which the Kafka message was "
     "created."),
    ("private_seqNum", "int", "unitless", "Sequence number"),
    ("private_revCode", "string", "unitless", "Revision hashcode"),
    ("private_identity", "string", "unitless", "Identity of publisher: SAL component name for "
     "a CSC or user@host for a user"),
    ("private_origin", "int", "unitless", "Process ID of publisher"),
)


def _private(indexed: bool) -> list[dict[str, Any]]:
    return [{"name": name, "type": kind, "default": ZERO.get(kind, 0), "description": text,
             "units": units}
            for name, kind, units, text in PRIVATE[0 if indexed else 1:]]


def expected_schema(component: str, topic: str, definition: dict[str, Any],
                    indexed: bool) -> dict[str, Any]:
    """The schema ts_salobj registers for `topic` of `component`, from its ts_xml entry."""
    fields = _private(indexed)
    for item in definition["fields"]:
        avro = AVRO[item["type"]]
        zero = ZERO.get(avro, 0)
        count = item["count"] if item["type"] != "string" else 1
        fields.append({
            "name": item["name"],
            "type": {"type": "array", "items": avro} if count > 1 else avro,
            "default": [zero] * count if count > 1 else zero,
            "description": item["description"],
            "units": item["units"],
        })
    return {"type": "record", "name": topic, "namespace": f"lsst.sal.{component}",
            "description": definition["description"], "fields": fields}




def topic_definition(component: str, topic: str) -> dict[str, Any]:
    """The ts_xml entry of `topic` of `component` (its own, else the generic one)."""
    own = REFERENCE["components"][component]["topics"]
    return own[topic] if topic in own else REFERENCE["generics"][topic]
