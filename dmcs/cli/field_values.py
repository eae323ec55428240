"""`field=value` words on the command line, typed by a command's pydantic model."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import ValidationError

from dmcs.cli.errors import CliError
from dmcs.sal.field_types import WireType
from dmcs.sal.sample import SalSample


def field_types(model: type[SalSample]) -> dict[str, str]:
    """User field name -> its ts_xml type (`long`, `unsigned short`, `float[5]`, ...), for
    error messages and help."""
    types = {}
    for name in model.user_fields():
        wire = next(m for m in model.model_fields[name].metadata if isinstance(m, WireType))
        types[name] = f"{wire.sal}[{wire.count}]" if wire.count > 1 else wire.sal
    return types


def parse_fields(model: type[SalSample], command: str, words: list[str]) -> dict[str, Any]:
    """Typed values for `field=value` words; arrays are comma-separated.

    An unknown field or a bad value is a CliError naming the field and listing the valid ones.
    """
    types = field_types(model)
    valid = ", ".join(f"{n} ({t})" for n, t in types.items()) or "none"
    raw: dict[str, Any] = {}
    for word in words:
        name, sep, text = word.partition("=")
        if not sep or not name:
            raise CliError(f"{word!r} is not field=value; fields of {command}: {valid}")
        if name not in types:
            raise CliError(f"{command} has no field {name!r}; fields: {valid}")
        is_array = _is_array(model.model_fields[name].annotation)
        raw[name] = [item.strip() for item in text.split(",")] if is_array else text
    try:
        validated = model.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        name = str(first["loc"][0])
        raise CliError(f"bad value for {command} field {name} ({types[name]}): "
                       f"{first['msg']} (got {raw[name]!r}); fields: {valid}") from None
    return {name: getattr(validated, name) for name in raw}


def _is_array(annotation: Any) -> bool:
    return typing.get_origin(annotation) is list
