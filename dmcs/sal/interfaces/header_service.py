"""MTHeaderService: announces the header of each camera image (SALGenerics' event).

``largeFileObjectAvailable`` carries a ``file://`` URL of a header-only FITS file, its md5
(``checkSum``), size in bytes, the generator name and format version, the mime type, and the
image name as ``id``.
"""

from __future__ import annotations

from dmcs.sal.field_types import Float, Int, String
from dmcs.sal.interface import Interface
from dmcs.sal.interfaces.generic import GENERIC_COMMANDS, GENERIC_EVENTS
from dmcs.sal.sample import SalSample


class LargeFileObjectAvailableEvent(SalSample):
    """A new large file object is available at ``url``."""

    url: String = ""
    generator: String = ""
    version: Float = 0.0
    byteSize: Int = 0
    checkSum: String = ""
    mimeType: String = ""
    id: String = ""


MT_HEADER_SERVICE = Interface(
    name="MTHeaderService",
    indexed=False,
    description="Header service (simulated): one header file per camera image.",
    commands=dict(GENERIC_COMMANDS),
    events={**GENERIC_EVENTS, "largeFileObjectAvailable": LargeFileObjectAvailableEvent},
    telemetry={},
)
