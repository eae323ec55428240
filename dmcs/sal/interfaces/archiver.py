"""Archiver: raw images from the DAQ + headers -> FITS in the archive, catalogued.

``imageInOODS`` is MTOODS's event (statusCode 0 = archived, > 0 = failed, with the reason in
``description``); it is published per CCD, at least once (a consumer keys on
``obsid, raft, sensor``). dmcs additions: command ``catchUp`` (archive whatever the DAQ holds
that the catalog lacks) and telemetry ``archiveStatus``.
"""

from __future__ import annotations

from dmcs.sal.field_types import Double, Int, String
from dmcs.sal.interface import Interface
from dmcs.sal.interfaces.generic import GENERIC_COMMANDS, GENERIC_EVENTS
from dmcs.sal.sample import SalSample


class ImageInOODSEvent(SalSample):
    """Status of one CCD of one image: archived (0) or not (> 0, description says why)."""

    camera: String = ""
    obsid: String = ""
    raft: String = ""
    sensor: String = ""
    statusCode: Int = 0
    description: String = ""


class CatchUpCommand(SalSample):
    """Archive every CCD the DAQ holds that the catalog lacks; the result counts them."""


class ArchiveStatusTelemetry(SalSample):
    """Progress of archiving: backlog (CCDs waiting), totals since start, failures."""

    backlog: Int = 0
    imagesArchived: Int = 0
    ccdsArchived: Int = 0
    bytesArchived: Double = 0.0
    failures: Int = 0
    lastLatency: Double = 0.0


ARCHIVER = Interface(
    name="Archiver",
    indexed=False,
    description="Image archiver: DAQ pixels + header -> checksummed FITS, catalogued.",
    commands={**GENERIC_COMMANDS, "catchUp": CatchUpCommand},
    events={**GENERIC_EVENTS, "imageInOODS": ImageInOODSEvent},
    telemetry={"archiveStatus": ArchiveStatusTelemetry},
)
