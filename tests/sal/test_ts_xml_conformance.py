"""Every topic named after the observatory's matches its definition in ts_xml.

`ts_xml_generics.json` (SALGenerics.xml) and `ts_xml_topics.json` (the camera's image cycle,
OCPS, ScriptQueue's nextVisit, MTOODS's imageInOODS) are checked-in copies of the field lists
and types taken from ts_xml; a change on either side shows here. The `setAuthList` command
and `authList` event are dmcs extensions (authorization, which the observatory dropped) and
are checked not to clash.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dmcs.sal.interface import Interface, TopicKind
from dmcs.sal.interface_file import load_interface
from dmcs.sal.interfaces.generic import GENERIC_COMMANDS, GENERIC_EVENTS

REFERENCE = json.loads((Path(__file__).parent / "ts_xml_generics.json").read_text())
OBSERVATORY_TOPICS = json.loads((Path(__file__).parent / "ts_xml_topics.json").read_text())
#: ts_xml component -> the dmcs component that publishes its topics (MTOODS: the Archiver).
PUBLISHED_BY = {"MTOODS": "Archiver"}
KINDS = {"command": TopicKind.COMMAND, "logevent": TopicKind.EVENT}
EXTENSIONS = {"command_setAuthList", "logevent_authList"}
#: Generic in ts_xml but declared only by components that publish it (e.g. header services).
OPTIONAL = {"logevent_largeFileObjectAvailable"}
GENERIC = Interface("Generic", False, dict(GENERIC_COMMANDS), dict(GENERIC_EVENTS), {})


def _ours() -> dict[str, list[list[str]]]:
    fields = {}
    for spec in GENERIC.specs():
        if spec.sal_name == "ackcmd":
            continue
        fields[spec.sal_name] = [[f["name"], f["type"]] for f in spec.schema["fields"]]
    return fields


@pytest.mark.parametrize("topic", sorted(set(REFERENCE["topics"]) - OPTIONAL))
def test_generic_topic_matches_ts_xml(topic: str) -> None:
    ours = _ours()
    assert topic in ours, f"{topic} of ts_xml is missing"
    expected = REFERENCE["private_fields"] + REFERENCE["topics"][topic]
    assert sorted(map(tuple, ours[topic])) == sorted(map(tuple, expected))


def test_only_documented_extensions_beyond_ts_xml() -> None:
    assert set(_ours()) - set(REFERENCE["topics"]) == EXTENSIONS


def _user_fields(component: str, kind: TopicKind, topic: str) -> list[list[object]]:
    schema = load_interface(component).spec(kind, topic).schema
    private = {name for name, _ in REFERENCE["private_fields"]}
    return [[f["name"], f["type"]] for f in schema["fields"] if f["name"] not in private]


@pytest.mark.parametrize("name", sorted(OBSERVATORY_TOPICS["topics"]))
def test_observatory_topic_matches_ts_xml(name: str) -> None:
    component, kind, topic = name.split("_", 2)
    ours = _user_fields(PUBLISHED_BY.get(component, component), KINDS[kind], topic)
    assert ours == OBSERVATORY_TOPICS["topics"][name]


def test_header_service_announces_headers_as_ts_xml_does() -> None:
    ours = _user_fields("MTHeaderService", TopicKind.EVENT, "largeFileObjectAvailable")
    assert ours == REFERENCE["topics"]["logevent_largeFileObjectAvailable"]
