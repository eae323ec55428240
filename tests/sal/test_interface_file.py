"""Interface files: what a service author writes, what it becomes on the wire, and the
error a mistake in one gives (file, topic and field named, on one line)."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from dmcs.sal.interface import TopicKind
from dmcs.sal.interface_file import (
    INTERFACE_DIR,
    InterfaceFileError,
    generic_topics,
    read_interface,
)

DOME = """\
name: Dome
indexed: true
description: A dome.
generic_commands: [setLogLevel]
field_groups:
  where:
    azimuth: {type: double, units: deg, description: Azimuth.}
    elevation: {type: float, units: deg, description: Elevation.}
commands:
  move:
    description: |-
      Move the dome.
      Slowly.
    include: [where]
    fields:
      speed: {type: unsigned short, units: deg/s, default: 3, description: How fast.}
      fast: {type: boolean, units: unitless, default: true, description: Hurry.}
events:
  shutter:
    fields:
      open: {type: boolean, units: unitless, description: Is it open.}
      corners: {type: "long long[4]", units: unitless, description: Corner counts.}
      note: {type: string, units: unitless, default: closed, description: A note.}
telemetry:
  position:
    include: [where]
"""


def _write(tmp_path: Path, text: str, name: str = "Dome") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def test_a_file_becomes_an_interface_with_generic_topics(tmp_path: Path) -> None:
    dome = read_interface(_write(tmp_path, DOME))
    assert dome.name == "Dome" and dome.indexed
    assert list(dome.commands) == ["setLogLevel", "move"]
    assert dome.commands["setLogLevel"] is generic_topics()[0]["setLogLevel"]
    assert set(dome.events) == {*generic_topics()[1], "shutter"}
    move = dome.commands["move"]()
    assert (move.azimuth, move.elevation, move.speed, move.fast) == (0.0, 0.0, 3, True)
    assert dome.events["shutter"]().model_dump()["corners"] == [0, 0, 0, 0]
    assert dome.events["shutter"]().model_dump()["note"] == "closed"
    schema = dome.spec(TopicKind.COMMAND, "move").schema
    assert schema["description"] == "Move the dome.\nSlowly."
    assert [(f["name"], f["type"], f["units"], f["description"], f["default"])
            for f in schema["fields"][-4:]] == [
        ("azimuth", "double", "deg", "Azimuth.", 0.0),
        ("elevation", "float", "deg", "Elevation.", 0.0),
        ("speed", "int", "deg/s", "How fast.", 0),
        ("fast", "boolean", "unitless", "Hurry.", False)]
    corners = dome.spec(TopicKind.EVENT, "shutter").schema["fields"][-2]
    assert corners["type"] == {"type": "array", "items": "long"}
    assert dome.telemetry["position"].user_fields() == ["azimuth", "elevation"]


def test_fields_are_checked_when_a_sample_is_made(tmp_path: Path) -> None:
    dome = read_interface(_write(tmp_path, DOME))
    with pytest.raises(pydantic.ValidationError, match="corners"):
        dome.events["shutter"](corners=[1, 2, 3])
    with pytest.raises(pydantic.ValidationError, match="speed"):
        dome.commands["move"](speed=2**31)
    with pytest.raises(pydantic.ValidationError, match="colour"):
        dome.commands["move"](colour="red")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("type: unsigned short", "type: integer"),
         "Dome.yaml: commands.move.speed: 'integer' is not a field type"),
        (("default: 3,", "default: fast,"),
         "Dome.yaml: commands.move.speed: default 'fast' is not a unsigned short"),
        (("default: true,", "default: 1,"),
         "Dome.yaml: commands.move.fast: default 1 is not a boolean"),
        (('"long long[4]", units', '"long long[4]", default: 1, units'),
         "Dome.yaml: events.shutter.corners: an array starts as zeros; it takes no default"),
        (('"long long[4]"', '"long long[1]"'),
         "Dome.yaml: events.shutter.corners: an array has at least 2 elements"),
        (("units: deg/s, ", ""), "Dome.yaml: commands.move.speed: units missing"),
        ((", description: Hurry.", ""), "Dome.yaml: commands.move.fast: description missing"),
        (("{type: boolean, units: unitless, description: Is it open.}", "boolean"),
         "Dome.yaml: events.shutter.open: a field is a mapping with type, units and description"),
        (("description: Hurry.", "description: Hurry., colour: red"),
         "Dome.yaml: commands.move.fast: unknown key(s) colour"),
        (("include: [where]\n    fields", "include: [here]\n    fields"),
         "Dome.yaml: commands.move: include names no field group 'here'"),
        (("include: [where]\n    fields", "include: where\n    fields"),
         "Dome.yaml: commands.move: include must be a list of field group names"),
        (("  shutter:\n", "  shutter:\n    descripton: typo\n"),
         "Dome.yaml: events.shutter: unknown key(s) descripton"),
        (("name: Dome", "name: Door"), "Dome.yaml: 'name' is 'Door', expected 'Dome'"),
        (("indexed: true", "indexed: yes please"), "Dome.yaml: 'indexed' must be true or false"),
        (("[setLogLevel]", "[setLogLevel, fly]"), "Dome.yaml: generic_commands has unknown fly"),
        (("telemetry:", "telemetri:"), "Dome.yaml: unknown key(s) telemetri"),
        (("  move:\n", "  move:\n  - oops\n"), "Dome.yaml: not valid YAML at line 12, column 16:"),
        (("    fields:\n      speed", "    fields:\n      - speed\n      - fast\n      speed"),
         "Dome.yaml: not valid YAML"),
        (("telemetry:\n  position:\n    include: [where]\n", "telemetry: [position]\n"),
         "Dome.yaml: telemetry: must be a mapping (name: value lines), not list"),
        (("      open:", "      salIndex:"),
         "Dome.yaml: events.shutter.salIndex: every sample has this field already"),
        (("      open:", "      is-open:"),
         "Dome.yaml: events.shutter.is-open: a field name is letters, digits and _"),
        (("default: 3,", "default: 70000,"),
         "Dome.yaml: commands.move: bad default: speed: Input should be less than or equal"),
    ],
)
def test_a_mistake_names_file_topic_and_field(tmp_path: Path, change: tuple[str, str],
                                              message: str) -> None:
    old, new = change
    assert old in DOME
    with pytest.raises(InterfaceFileError) as caught:
        read_interface(_write(tmp_path, DOME.replace(old, new, 1)))
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InterfaceFileError, match=r"no interface file .*Nowhere\.yaml"):
        read_interface(tmp_path / "Nowhere.yaml")


def test_every_packaged_file_loads() -> None:
    names = sorted(p.stem for p in INTERFACE_DIR.glob("*.yaml") if p.stem != "generic")
    assert len(names) >= 12
    for name in names:
        assert read_interface(INTERFACE_DIR / f"{name}.yaml").name == name
