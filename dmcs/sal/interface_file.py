"""Interfaces are data: each component's topics are read from `interfaces/<Name>.yaml`.

Like ts_xml, a topic is a name, a description and a list of typed fields, and the models
are made from that list, so adding a topic is a few lines of YAML and not a class. A field is
a mapping: ``type`` (a ts_xml IDL type such as ``long`` or ``unsigned short``, optionally
``[N]`` for a fixed-length array, zeros at first), ``units`` and ``description`` (both are
in the registered schema, as ts_salobj puts them there), and optionally ``default``.
`field_groups` name field lists that several topics share (`include:` puts a group's fields
first, in order). Every component gets the generic topics of `generic.yaml` (and
``ackcmd``, :mod:`dmcs.sal.ack`); `generic_commands:` narrows the commands (a Script has no
summary-state commands).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, create_model

from dmcs.sal.field_types import SAL_TYPES, annotation, zero
from dmcs.sal.interface import Interface
from dmcs.sal.sample import SalSample, units
from dmcs.validation import YamlMappingError, describe_problems, parse_yaml_mapping

#: Where the packaged interface files are: `<Name>.yaml` per component, and `generic.yaml`.
INTERFACE_DIR = Path(__file__).parent / "interfaces"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TYPE = re.compile(r"^(?P<type>[a-z]+(?: [a-z]+)?)(?:\[(?P<count>\d+)\])?$")
_FIELD_KEYS = {"type", "units", "description", "default"}
_KINDS = ("commands", "events", "telemetry")
_TOPIC_KEYS = {"description", "include", "fields"}
_FILE_KEYS = {"name", "indexed", "description", "generic_commands", "field_groups", *_KINDS}


class InterfaceFileError(ValueError):
    """An interface file that cannot be read: names the file, topic and field at fault."""


@cache
def load_interface(name: str) -> Interface:
    """The interface of component `name`, from its packaged file (read once per process)."""
    return read_interface(INTERFACE_DIR / f"{name}.yaml")


def read_interface(path: Path) -> Interface:
    """The interface a file defines; its `name` must be the file's name without `.yaml`."""
    data = _read(path)
    where, name = path.name, path.stem
    _check_keys(data, _FILE_KEYS, where)
    if data.get("name") != name:
        raise InterfaceFileError(f"{where}: 'name' is {data.get('name')!r}, expected {name!r}")
    if not isinstance(data.get("indexed"), bool):
        raise InterfaceFileError(f"{where}: 'indexed' must be true or false")
    groups = _mapping(data.get("field_groups"), f"{where}: field_groups")
    own = {kind: _models(name, kind, _mapping(data.get(kind), f"{where}: {kind}"), groups, where)
           for kind in _KINDS}
    generic_commands, generic_events = generic_topics()
    wanted = data.get("generic_commands", list(generic_commands))
    unknown = sorted(set(wanted) - set(generic_commands))
    if unknown:
        raise InterfaceFileError(f"{where}: generic_commands has unknown {', '.join(unknown)}")
    return Interface(
        name=name,
        indexed=data["indexed"],
        description=str(data.get("description", "")),
        commands={**{c: generic_commands[c] for c in wanted}, **own["commands"]},
        events={**generic_events, **own["events"]},
        telemetry=own["telemetry"],
    )


@cache
def generic_topics() -> tuple[dict[str, type[SalSample]], dict[str, type[SalSample]]]:
    """The commands and events every component has (ts_xml SALGenerics), one model each."""
    path = INTERFACE_DIR / "generic.yaml"
    data, where = _read(path), path.name
    _check_keys(data, {"commands", "events"}, where)
    return (_models("Generic", "commands", _mapping(data.get("commands"), where), {}, where),
            _models("Generic", "events", _mapping(data.get("events"), where), {}, where))


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InterfaceFileError(f"no interface file {path}") from None
    try:
        return parse_yaml_mapping(text, path.name)
    except YamlMappingError as err:
        raise InterfaceFileError(str(err)) from None


def _mapping(value: Any, where: str) -> dict[str, Any]:
    """`value` if it is a mapping (None: empty); anything else is an error naming `where`."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InterfaceFileError(f"{where}: must be a mapping (name: value lines), "
                                 f"not {type(value).__name__}")
    return value


def _check_keys(data: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise InterfaceFileError(f"{where}: unknown key(s) {', '.join(extra)}; "
                                 f"allowed: {', '.join(sorted(allowed))}")


def _models(component: str, kind: str, topics: dict[str, Any], groups: dict[str, Any],
            where: str) -> dict[str, type[SalSample]]:
    models = {}
    for topic, body in topics.items():
        here = f"{where}: {kind}.{topic}"
        body = _mapping(body, here)
        _check_keys(body, _TOPIC_KEYS, here)
        fields: dict[str, Any] = {}
        includes = body.get("include", [])
        if not isinstance(includes, list):
            raise InterfaceFileError(f"{here}: include must be a list of field group names")
        for group in includes:
            if group not in groups:
                raise InterfaceFileError(f"{here}: include names no field group {group!r}")
            fields.update(_mapping(groups[group], f"{where}: field_groups.{group}"))
        fields.update(_mapping(body.get("fields"), f"{here}.fields"))
        definitions = {f: _field(f, spec, f"{here}.{f}") for f, spec in fields.items()}
        model = create_model(  # type: ignore[call-overload]
            f"{component}_{kind}_{topic}", __base__=SalSample, __module__=__name__,
            **definitions)
        model.__doc__ = str(body.get("description", "")).strip()
        try:  # defaults are not checked by pydantic: a default out of range is a file error
            model.model_validate(model().model_dump())
        except ValidationError as err:
            raise InterfaceFileError(f"{here}: bad default: {describe_problems(err)}") from None
        models[topic] = model
    return models


def _field(name: str, spec: Any, where: str) -> tuple[Any, Any]:
    """(annotation, pydantic Field) of one field: ``{type, units, description[, default]}``."""
    if not _NAME.match(str(name)):
        raise InterfaceFileError(f"{where}: a field name is letters, digits and _")
    if name in SalSample.model_fields:
        raise InterfaceFileError(f"{where}: every sample has this field already")
    if not isinstance(spec, dict):
        raise InterfaceFileError(f"{where}: a field is a mapping with type, units and "
                                 f"description (and optionally default), not {spec!r}")
    _check_keys(spec, _FIELD_KEYS, where)
    missing = sorted({"type", "units", "description"} - set(spec))
    if missing:
        raise InterfaceFileError(f"{where}: {' and '.join(missing)} missing")
    match = _TYPE.match(str(spec["type"]).strip())
    if match is None or match["type"] not in SAL_TYPES:
        raise InterfaceFileError(f"{where}: {spec['type']!r} is not a field type; use one of "
                                 f"{', '.join(SAL_TYPES)}, optionally with [N]")
    kind, count = match["type"], int(match["count"] or 1)
    description, extra = str(spec["description"]).strip(), units(str(spec["units"]))
    if match["count"] is not None:
        if "default" in spec:
            raise InterfaceFileError(f"{where}: an array starts as zeros; it takes no default")
        if count < 2:
            raise InterfaceFileError(f"{where}: an array has at least 2 elements")
        return annotation(kind, count), Field(default=[zero(kind)] * count,
                                              description=description, json_schema_extra=extra)
    default = spec.get("default", zero(kind))
    if not _fits(SAL_TYPES[kind].python, default):
        raise InterfaceFileError(f"{where}: default {default!r} is not a {kind}")
    value = float(default) if SAL_TYPES[kind].python is float else default
    return annotation(kind), Field(default=value, description=description,
                                   json_schema_extra=extra)


def _fits(python: type, value: Any) -> bool:
    if python in (bool, str):
        return isinstance(value, python)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return number and (isinstance(value, int) or python is float)
