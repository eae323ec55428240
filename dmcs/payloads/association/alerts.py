"""Alert packets: one Avro record per new or updated DIAObject, in an Avro container file.

Each packet carries the triggering DIASource, the DIAObject, up to ``history_length`` earlier
DIASources and 30x30 cutouts of science, template and difference. Cutouts are little-endian
float32, row-major, with their shape alongside, so any Avro reader can decode them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastavro
import numpy as np

_DIA_SOURCE_FIELDS: list[dict[str, Any]] = [
    {"name": "diaSourceId", "type": "long"},
    {"name": "diaObjectId", "type": "long"},
    {"name": "visit", "type": "long"},
    {"name": "detector", "type": "int"},
    {"name": "ra", "type": "double", "doc": "degrees, ICRS"},
    {"name": "dec", "type": "double", "doc": "degrees, ICRS"},
    {"name": "psfFlux", "type": "double", "doc": "nJy, difference image"},
    {"name": "psfFluxErr", "type": "double", "doc": "nJy"},
    {"name": "snr", "type": "double"},
    {"name": "isNegative", "type": "boolean"},
]

_CUTOUT = {
    "type": "record",
    "name": "Cutout",
    "fields": [
        {"name": "width", "type": "int"},
        {"name": "height", "type": "int"},
        {"name": "pixels", "type": "bytes", "doc": "float32 little-endian, row-major"},
    ],
}

ALERT_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Alert",
    "namespace": "dmcs.alert",
    "fields": [
        {"name": "alertId", "type": "long"},
        {
            "name": "diaSource",
            "type": {"type": "record", "name": "DiaSource", "fields": _DIA_SOURCE_FIELDS},
        },
        {"name": "prvDiaSources", "type": {"type": "array", "items": "DiaSource"}},
        {
            "name": "diaObject",
            "type": {
                "type": "record",
                "name": "DiaObject",
                "fields": [
                    {"name": "diaObjectId", "type": "long"},
                    {"name": "ra", "type": "double"},
                    {"name": "dec", "type": "double"},
                    {"name": "nDiaSources", "type": "int"},
                    {"name": "firstVisit", "type": "long"},
                    {"name": "lastVisit", "type": "long"},
                ],
            },
        },
        {"name": "cutoutScience", "type": _CUTOUT},
        {"name": "cutoutTemplate", "type": "Cutout"},
        {"name": "cutoutDifference", "type": "Cutout"},
    ],
}
PARSED_SCHEMA = fastavro.parse_schema(ALERT_SCHEMA)


def cutout_record(pixels: np.ndarray) -> dict[str, Any]:
    return {
        "width": int(pixels.shape[1]),
        "height": int(pixels.shape[0]),
        "pixels": pixels.astype("<f4").tobytes(),
    }


def cutout_pixels(record: dict[str, Any]) -> np.ndarray:
    return np.frombuffer(record["pixels"], dtype="<f4").reshape(record["height"], record["width"])


def source_record(source: dict[str, Any]) -> dict[str, Any]:
    """A DIASource as the schema wants it (plain Python types)."""
    record = {field["name"]: source[field["name"]] for field in _DIA_SOURCE_FIELDS}
    record["isNegative"] = bool(record["isNegative"])
    return record


def write_alerts(path: Path, packets: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as stream:
        fastavro.writer(stream, PARSED_SCHEMA, packets)
    return path
