"""The simulators' interfaces: the camera's image events share their identity fields in
ts_xml's order, and every topic round-trips through Avro (names, widths, descriptions and
units against ts_xml are checked for every shared topic in tests/sal)."""

from __future__ import annotations

from typing import Any

import pytest

from dmcs.sal.codec import decode_body, encode, header
from dmcs.sal.interface import Interface, TopicKind, TopicSpec
from dmcs.sal.interface_file import generic_topics
from dmcs.sal.interfaces import ARCHIVER, MT_CAMERA, MT_HEADER_SERVICE, SCRIPT_QUEUE

INTERFACES = (MT_CAMERA, MT_HEADER_SERVICE, SCRIPT_QUEUE, ARCHIVER)
IMAGE_IDS = ["additionalKeys", "additionalValues", "imagesInSequence", "imageName", "imageIndex",
             "imageSource", "imageController", "imageDate", "imageNumber",
             "timestampAcquisitionStart"]
def own_specs(interface: Interface) -> list[TopicSpec]:
    generic = {*generic_topics()[0], *generic_topics()[1]}
    return [s for s in interface.specs() if s.kind is not TopicKind.ACK and s.name not in generic]


def user_fields(spec: TopicSpec) -> dict[str, Any]:
    names = spec.model.user_fields()
    return {f["name"]: f["type"] for f in spec.schema["fields"] if f["name"] in names}


def test_image_events_share_the_camera_identity_fields_in_ts_xml_order() -> None:
    for name in ("startIntegration", "startReadout", "endReadout", "endOfImageTelemetry"):
        fields = list(user_fields(MT_CAMERA.spec(TopicKind.EVENT, name)))
        assert fields[:len(IMAGE_IDS)] == IMAGE_IDS, name


def sample_values(spec: TopicSpec) -> dict[str, Any]:
    """A non-default value for every user field, by Avro type."""
    values: dict[str, Any] = {}
    for name, avro in user_fields(spec).items():
        scalars = {"int": 7, "long": 2**31, "double": 1e300, "float": 0.5, "boolean": True,
                   "string": f"{name}-é"}
        values[name] = scalars[avro] if isinstance(avro, str) else [1.5, -2.5]
    return values


@pytest.mark.parametrize("spec", [s for i in INTERFACES for s in own_specs(i)],
                         ids=lambda s: f"{s.component}.{s.sal_name}")
def test_every_topic_round_trips(spec: TopicSpec) -> None:
    record = spec.model(salIndex=1 if spec.indexed else 0, **sample_values(spec)).model_dump()
    if not spec.indexed:
        del record["salIndex"]  # not in a non-indexed component's schema (as ts_salobj's)
    assert decode_body(encode(spec.parsed_schema, header(1), record), spec.parsed_schema) \
        == record
