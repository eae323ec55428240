"""Every script `dmcs script run` knows, by name ("module:Class", imported when asked for)."""

from __future__ import annotations

import importlib

from dmcs.scripts.base_script import BaseScript

SCRIPTS: dict[str, str] = {
    "sleep": "dmcs.scripts.sleep:SleepScript",
    "set_summary_state": "dmcs.scripts.set_summary_state:SetSummaryStateScript",
    "night": "dmcs.scripts.night:NightScript",
}


class UnknownScriptError(ValueError):
    """A script name that is not in the registry."""


def script_class(name: str) -> type[BaseScript]:
    try:
        target = SCRIPTS[name]
    except KeyError:
        raise UnknownScriptError(
            f"unknown script {name!r}; known: {', '.join(sorted(SCRIPTS))}") from None
    module_name, _, class_name = target.partition(":")
    cls: type[BaseScript] = getattr(importlib.import_module(module_name), class_name)
    return cls
