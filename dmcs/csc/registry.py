"""Every component dmcs can run, by name: the one list the CLI, `dmcs run` and `status` use.

Each entry names the CSC class that declares the component (its interface, configuration
model, packaged defaults and version are class attributes). Modules are imported only when a
component is asked for, so listing components stays cheap and a broken service cannot break
the others.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dmcs.csc.base_csc import BaseCsc
    from dmcs.sal.interface import Interface

#: Component name -> "module:Class" of its CSC. Adding a component adds one line here.
COMPONENTS: dict[str, str] = {
    "Test": "dmcs.csc.test_csc:TestCsc",
    "MTCamera": "dmcs.sims.camera_csc:CameraCsc",
    "MTHeaderService": "dmcs.sims.header_csc:HeaderServiceCsc",
    "ScriptQueue": "dmcs.sims.script_queue_csc:ScriptQueueCsc",
    "Archiver": "dmcs.services.archiver.csc:ArchiverCsc",
    "PromptProcessing": "dmcs.services.prompt_processing.csc:PromptProcessingCsc",
    "OCPS": "dmcs.services.ocps.csc:OcpsCsc",
    "TelemetryGateway": "dmcs.services.telemetry_gateway.csc:TelemetryGatewayCsc",
    "DMCS": "dmcs.services.dmcs.csc:DmcsCsc",
    "EFDWriter": "dmcs.telemetry.efd_writer_csc:EfdWriterCsc",
    "DiskMonitor": "dmcs.services.disk_monitor.csc:DiskMonitorCsc",
}


class UnknownComponentError(ValueError):
    """A component name that is not in the registry."""


def component_names() -> list[str]:
    return sorted(COMPONENTS)


@cache
def csc_class(name: str) -> type[BaseCsc]:
    """The CSC class of `name`; UnknownComponentError lists the known components."""
    try:
        target = COMPONENTS[name]
    except KeyError:
        known = ", ".join(component_names())
        raise UnknownComponentError(
            f"unknown component {name!r}; known components: {known}"
        ) from None
    module_name, _, class_name = target.partition(":")
    cls: type[BaseCsc] = getattr(importlib.import_module(module_name), class_name)
    if cls.interface.name != name:
        raise TypeError(f"registry entry {name!r} points at {target}, which declares "
                        f"{cls.interface.name!r}")
    return cls


def get_interface(name: str) -> Interface:
    """The interface of component `name` (UnknownComponentError if there is none)."""
    return csc_class(name).interface


def loadable_interfaces() -> tuple[list[Interface], list[str]]:
    """Every component's interface that loads, and a line for each that does not.

    For views of the whole system (`dmcs status`), where one broken component must not hide
    the others.
    """
    interfaces: list[Interface] = []
    problems: list[str] = []
    for name in component_names():
        try:
            interfaces.append(get_interface(name))
        except Exception as err:
            problems.append(f"cannot load component {name}: {type(err).__name__}: {err}")
    return interfaces, problems
