"""One wording for validation and YAML errors, wherever user input is checked.

Commands, topic data, CSC and pipeline configurations and CLI field values all report a bad
value the same way: which field, what is wrong, and what was given; broken YAML says where.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError


def describe_problems(err: ValidationError) -> str:
    """`field: problem (got value)` for each bad field, joined on one line."""
    parts = []
    for item in err.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(value)"
        given = f" (got {item['input']!r})" if "input" in item and item["type"] != "missing" else ""
        parts.append(f"{where}: {item['msg']}{given}")
    return "; ".join(parts)


def describe_validation_error(what: str, err: ValidationError) -> str:
    """`bad <what>: <problems>`, the one-line message users see."""
    return f"bad {what}: {describe_problems(err)}"


class StrictModel(BaseModel):
    """A configuration: a setting it does not know is an error (a typo is never ignored)."""

    model_config = ConfigDict(extra="forbid")


#: libyaml's safe loader when PyYAML has it (several times faster), else the Python one.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlMappingError(ValueError):
    """YAML that is broken or is not a mapping; the message names its source and the line."""


def parse_yaml_mapping(text: str, source: str) -> dict[str, Any]:
    """The mapping YAML `text` holds (empty text: {}); `source` names it in errors."""
    try:
        loaded = yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as err:
        raise YamlMappingError(f"{source}: not valid YAML at {describe_yaml_error(err)}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise YamlMappingError(f"{source}: must hold a mapping (key: value lines)")
    return loaded


def describe_yaml_error(err: yaml.YAMLError) -> str:
    """`line L, column C: problem` for broken YAML, on one line (PyYAML's spans several)."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or " ".join(str(err).split())
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else problem
