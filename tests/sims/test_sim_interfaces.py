"""The four interfaces: ts_xml names and widths, and every topic round-trips through Avro."""

from __future__ import annotations

from typing import Any

import pytest

from dmcs.sal.codec import decode_body, encode
from dmcs.sal.interface import Interface, TopicKind, TopicSpec
from dmcs.sal.interfaces.archiver import ARCHIVER
from dmcs.sal.interfaces.camera import IMAGE_EVENTS, MT_CAMERA
from dmcs.sal.interfaces.generic import GENERIC_COMMANDS, GENERIC_EVENTS
from dmcs.sal.interfaces.header_service import MT_HEADER_SERVICE
from dmcs.sal.interfaces.script_queue import SCRIPT_QUEUE

INTERFACES = (MT_CAMERA, MT_HEADER_SERVICE, SCRIPT_QUEUE, ARCHIVER)
IMAGE_IDS = ["additionalKeys", "additionalValues", "imagesInSequence", "imageName", "imageIndex",
             "imageSource", "imageController", "imageDate", "imageNumber",
             "timestampAcquisitionStart"]
#: Field names and Avro types as ts_xml defines them (IDL long -> int, short -> int).
TS_XML = {
    ("MTCamera", "takeImages"): {"numImages": "int", "expTime": "double", "shutter": "boolean",
                                 "sensors": "string", "keyValueMap": "string",
                                 "obsNote": "string"},
    ("MTCamera", "endOfImageTelemetry"): {
        "exposureTime": "double", "imageTag": "string", "timestampDateObs": "double",
        "timestampDateEnd": "double", "measuredShutterOpenTime": "double", "darkTime": "double",
        "emulatedImage": "string"},
    ("MTCamera", "startIntegration"): {"exposureTime": "double", "mode": "string",
                                       "timeout": "double"},
    ("MTCamera", "startReadout"): {"exposureTime": "double", "timestampStartOfReadout": "double"},
    ("MTCamera", "endReadout"): {"requestedExposureTime": "double",
                                 "timestampEndOfReadout": "double"},
    ("MTHeaderService", "largeFileObjectAvailable"): {
        "url": "string", "generator": "string", "version": "float", "byteSize": "int",
        "checkSum": "string", "mimeType": "string", "id": "string"},
    ("ScriptQueue", "nextVisit"): {
        "scriptSalIndex": "int", "groupId": "string", "coordinateSystem": "int",
        "position": {"type": "array", "items": "double"}, "startTime": "double",
        "rotationSystem": "int", "cameraAngle": "double", "filters": "string", "dome": "int",
        "duration": "double", "nimages": "int", "instrument": "string", "survey": "string",
        "totalCheckpoints": "int"},
    ("ScriptQueue", "nextVisitCanceled"): {"scriptSalIndex": "int", "groupId": "string"},
    ("Archiver", "imageInOODS"): {"camera": "string", "obsid": "string", "raft": "string",
                                  "sensor": "string", "statusCode": "int",
                                  "description": "string"},
}


def own_specs(interface: Interface) -> list[TopicSpec]:
    generic = {*GENERIC_COMMANDS, *GENERIC_EVENTS}
    return [s for s in interface.specs() if s.kind is not TopicKind.ACK and s.name not in generic]


def user_fields(spec: TopicSpec) -> dict[str, Any]:
    names = spec.model.user_fields()
    return {f["name"]: f["type"] for f in spec.schema["fields"] if f["name"] in names}


@pytest.mark.parametrize(("component", "topic"), sorted(TS_XML))
def test_fields_have_ts_xml_names_and_widths(component: str, topic: str) -> None:
    interface = next(i for i in INTERFACES if i.name == component)
    kind = TopicKind.COMMAND if topic in interface.commands else TopicKind.EVENT
    fields = user_fields(interface.spec(kind, topic))
    for shared in IMAGE_IDS if topic in IMAGE_EVENTS else ():
        del fields[shared]
    assert fields == TS_XML[(component, topic)]


def test_image_events_share_the_camera_identity_fields_in_ts_xml_order() -> None:
    for name in ("startIntegration", "startReadout", "endReadout", "endOfImageTelemetry"):
        fields = list(user_fields(MT_CAMERA.spec(TopicKind.EVENT, name)))
        assert fields[:len(IMAGE_IDS)] == IMAGE_IDS, name


def sample_values(spec: TopicSpec) -> dict[str, Any]:
    """A non-default value for every user field, by Avro type."""
    values: dict[str, Any] = {}
    for name, avro in user_fields(spec).items():
        scalars = {"int": -7, "long": 2**40, "double": 1e300, "float": 0.5, "boolean": True,
                   "string": f"{name}-é"}
        values[name] = scalars[avro] if isinstance(avro, str) else [1.5, -2.5]
    return values


@pytest.mark.parametrize("spec", [s for i in INTERFACES for s in own_specs(i)],
                         ids=lambda s: f"{s.component}.{s.sal_name}")
def test_every_topic_round_trips(spec: TopicSpec) -> None:
    record = spec.model(salIndex=1, **sample_values(spec)).model_dump()
    assert decode_body(encode(spec.parsed_schema, spec.header, record), spec.parsed_schema) \
        == record
