"""The TelemetryGateway component: DM status and quality figures for the OCS, as telemetry.

It reads the DM services' events and republishes the latest figures at a steady cadence,
so an OCS display or the EFD sees one small set of topics instead of every service's events.
"""

from __future__ import annotations

from dmcs.sal.field_types import Double, Int, Long, String
from dmcs.sal.interface import Interface
from dmcs.sal.interfaces.generic import GENERIC_COMMANDS, GENERIC_EVENTS
from dmcs.sal.sample import SalSample


class VisitQualityTelemetry(SalSample):
    """The last processed visit: latency (end of readout to alerts sent, s), alerts, quality."""

    groupId: String = ""
    visit: String = ""
    latency: Double = 0.0
    alerts: Int = 0
    diaSources: Int = 0
    sources: Int = 0
    seeing: Double = 0.0
    zeroPoint: Double = 0.0


class PromptProcessingStatusTelemetry(SalSample):
    """Prompt processing totals since the gateway started."""

    visitsProcessed: Int = 0
    visitsLate: Int = 0
    alertsSent: Long = 0
    workersAlive: Int = 0
    queue: Int = 0


class ArchiveStatusTelemetry(SalSample):
    """Images read out by the camera, images archived, and the difference (the backlog)."""

    imagesReadOut: Long = 0
    imagesArchived: Long = 0
    backlog: Long = 0


class ServiceStatesTelemetry(SalSample):
    """Summary state of each DM service and simulator (0: never heard from)."""

    dmcs: Int = 0
    archiver: Int = 0
    promptProcessing: Int = 0
    ocps: Int = 0
    camera: Int = 0
    headerService: Int = 0
    scriptQueue: Int = 0


TELEMETRY_GATEWAY = Interface(
    name="TelemetryGateway",
    indexed=False,
    description="DM status and quality figures for the OCS, republished at a steady cadence.",
    commands={**GENERIC_COMMANDS},
    events={**GENERIC_EVENTS},
    telemetry={
        "visitQuality": VisitQualityTelemetry,
        "promptProcessingStatus": PromptProcessingStatusTelemetry,
        "archiveStatus": ArchiveStatusTelemetry,
        "serviceStates": ServiceStatesTelemetry,
    },
)
