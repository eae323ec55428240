"""Interface definitions: one YAML file per component beside this module, loaded on first use.

`from dmcs.sal.interfaces import ARCHIVER` gives the Archiver's topics and their models (see
`dmcs.sal.interface_file`); a process loads only the files it names. Which components exist is
declared once, by their CSCs: see `dmcs.csc.registry`.
"""

from __future__ import annotations

from dmcs.sal.interface import Interface
from dmcs.sal.interface_file import load_interface

#: The name Python code imports an interface by, and its YAML file (without `.yaml`).
INTERFACE_FILES = {
    "ARCHIVER": "Archiver",
    "DISK_MONITOR": "DiskMonitor",
    "DMCS": "DMCS",
    "EFD_WRITER": "EFDWriter",
    "MT_CAMERA": "MTCamera",
    "MT_HEADER_SERVICE": "MTHeaderService",
    "OCPS": "OCPS",
    "PROMPT_PROCESSING": "PromptProcessing",
    "SCRIPT": "Script",
    "SCRIPT_QUEUE": "ScriptQueue",
    "TELEMETRY_GATEWAY": "TelemetryGateway",
    "TEST": "Test",
}

#: The events of one image, in the order the camera publishes them.
IMAGE_EVENTS = ("startIntegration", "startReadout", "endReadout", "endOfImageTelemetry")


def __getattr__(name: str) -> Interface:
    if name not in INTERFACE_FILES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return load_interface(INTERFACE_FILES[name])
