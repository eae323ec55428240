"""Every generic topic matches the observatory's definition (ts_xml SALGenerics.xml).

`ts_xml_generics.json` is a checked-in copy of the field lists and types taken from ts_xml;
a change on either side shows here. The `setAuthList` command and `authList` event are dmcs
extensions (authorization, which the observatory dropped) and are checked not to clash.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dmcs.sal.interface import Interface
from dmcs.sal.interfaces.generic import GENERIC_COMMANDS, GENERIC_EVENTS

REFERENCE = json.loads((Path(__file__).parent / "ts_xml_generics.json").read_text())
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
