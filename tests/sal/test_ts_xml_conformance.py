"""Every topic dmcs shares with ts_xml has the schema ts_salobj would register for it.

`ts_xml_reference.json` is a checked-in copy of the ts_xml definitions (written by
`extract_ts_xml.py`); from it the expected Avro schema of each shared topic is derived by
ts_salobj's rules (record name = SAL topic name, namespace ``lsst.sal.<Component>``,
``salIndex`` for indexed components only, the private fields, then the topic's fields in
file order with their description and units; SAL ``long`` → ``int``, ``long long`` and
``unsigned int`` → ``long``, ...) and compared with what dmcs registers. The ``setAuthList``
command and ``authList`` event are dmcs extensions (authorization, which the observatory
dropped) and are checked not to clash.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from ts_xml_schemas import REFERENCE, expected_schema, topic_definition

from dmcs.sal.domain import Domain
from dmcs.sal.interface import Interface, TopicKind, TopicSpec
from dmcs.sal.interface_file import load_interface

EXTENSIONS = {"command_setAuthList", "logevent_authList"}


def _generics_of(component: dict[str, Any]) -> set[str]:
    added = set(component["added_generics"])
    return {name for name, topic in REFERENCE["generics"].items()
            if topic.get("category") == "mandatory" or topic.get("category") in added
            or name in added}


def shared_topics() -> list[tuple[str, str]]:
    """(component, SAL topic name) of every topic both dmcs and ts_xml define."""
    shared = []
    for name, component in REFERENCE["components"].items():
        if name == "MTOODS":
            continue  # published by the Archiver, under its own name (see below)
        ours = {spec.sal_name for spec in load_interface(name).specs()}
        theirs = set(component["topics"]) | _generics_of(component)
        shared += [(name, topic) for topic in sorted(ours & theirs)]
    return shared


def _spec(component: str, topic: str) -> TopicSpec:
    interface = load_interface(component)
    return next(s for s in interface.specs() if s.sal_name == topic)


@pytest.mark.parametrize(("component", "topic"), shared_topics())
def test_shared_topic_schema_is_ts_salobj_s(component: str, topic: str) -> None:
    indexed = REFERENCE["components"][component]["indexed"]
    assert load_interface(component).indexed == indexed
    expected = expected_schema(component, topic, topic_definition(component, topic), indexed)
    assert _spec(component, topic).schema == expected


def test_every_ts_xml_topic_of_test_and_script_is_there() -> None:
    for name in ("Test", "Script"):
        ours = {spec.sal_name for spec in load_interface(name).specs()}
        missing = set(REFERENCE["components"][name]["topics"]) - ours
        assert not missing, f"{name} lacks {sorted(missing)}"


def test_the_shared_set_covers_the_image_cycle_and_ocps() -> None:
    shared = set(shared_topics())
    for topic in ("command_takeImages", "logevent_startIntegration", "logevent_endReadout",
                  "logevent_endOfImageTelemetry", "logevent_startReadout"):
        assert ("MTCamera", topic) in shared
    for topic in ("command_execute", "command_abort_job", "logevent_job_id",
                  "logevent_job_result"):
        assert ("OCPS", topic) in shared
    assert ("ScriptQueue", "logevent_nextVisit") in shared
    assert ("MTHeaderService", "logevent_largeFileObjectAvailable") in shared
    assert len(shared) > 100


def test_the_archiver_publishes_mtoods_image_in_oods() -> None:
    ours = load_interface("Archiver").spec(TopicKind.EVENT, "imageInOODS").schema
    theirs = expected_schema("Archiver", "logevent_imageInOODS",
                             REFERENCE["components"]["MTOODS"]["topics"]["logevent_imageInOODS"],
                             indexed=False)
    assert ours == theirs


def test_only_documented_extensions_beyond_ts_xml_generics() -> None:
    generic = Interface("Generic", False, dict(load_interface("Test").commands),
                        dict(load_interface("Test").events), {})
    ours = {s.sal_name for s in generic.specs() if s.kind is not TopicKind.ACK}
    test_topics = set(REFERENCE["components"]["Test"]["topics"])
    assert ours - set(REFERENCE["generics"]) - test_topics == EXTENSIONS


async def test_the_registered_schema_is_the_derived_one(domain: Domain) -> None:
    """What the registry holds for a shared topic is exactly the derived schema."""
    cases = [("Test", "command_setScalars"), ("Script", "logevent_state"),
             ("MTCamera", "logevent_endReadout"), ("ScriptQueue", "logevent_nextVisit")]
    specs = [_spec(c, t) for c, t in cases]
    await domain.ensure_topics(specs)
    for (component, topic), spec in zip(cases, specs, strict=True):
        url = f"{domain.registry_url}/schemas/ids/{domain.schema_id(spec)}"
        with urllib.request.urlopen(url) as response:
            registered = json.loads(json.loads(response.read())["schema"])
        indexed = REFERENCE["components"][component]["indexed"]
        assert registered == expected_schema(component, topic,
                                             topic_definition(component, topic), indexed)
