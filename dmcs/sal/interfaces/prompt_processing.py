"""The PromptProcessing component: alert production for each visit as it is read out.

A visit is named by its `groupId` (from the ScriptQueue's `nextVisit`); `visit` is the
image name (obsid) of the exposure that was processed.
"""

from __future__ import annotations

from dmcs.sal.field_types import Double, Int, Long, String
from dmcs.sal.interface import Interface
from dmcs.sal.interfaces.generic import GENERIC_COMMANDS, GENERIC_EVENTS
from dmcs.sal.sample import SalSample


class CancelVisitCommand(SalSample):
    """Stop processing a visit now: it is marked late and left to daytime catch-up."""

    groupId: String = ""
    reason: String = ""


class VisitPreloadedEvent(SalSample):
    """Calibrations, template and reference catalog of a visit's detectors are in memory."""

    groupId: String = ""
    detectors: String = ""
    duration: Double = 0.0


class VisitRefusedEvent(SalSample):
    """A `nextVisit` that cannot be processed (unknown detector, no images): not preloaded."""

    groupId: String = ""
    reason: String = ""


class VisitProcessedEvent(SalSample):
    """A visit's alerts were sent.

    latency: seconds from the camera's end of readout to the last alert sent.
    status: "ok", or "partial: <detectors>" when some detectors produced nothing.
    seeing: median PSF FWHM (arcsec); zeroPoint: median photometric zero point (mag).
    """

    groupId: String = ""
    visit: String = ""
    detectors: String = ""
    alerts: Int = 0
    diaSources: Int = 0
    sources: Int = 0
    seeing: Double = 0.0
    zeroPoint: Double = 0.0
    latency: Double = 0.0
    status: String = ""


class VisitLateEvent(SalSample):
    """A visit failed or passed its deadline: cancelled, no alerts, left to daytime catch-up."""

    groupId: String = ""
    visit: String = ""
    reason: String = ""


class WorkerStatusEvent(SalSample):
    """A change in a worker rank's health: "alive", "silent" (missed heartbeats) or "dead"."""

    rank: Int = 0
    status: String = ""
    workItem: String = ""
    reason: String = ""


class ProcessingStatusTelemetry(SalSample):
    """The service at a glance, published at a steady cadence while enabled."""

    queue: Int = 0
    workersAlive: Int = 0
    workersBusy: Int = 0
    visitsProcessed: Int = 0
    visitsLate: Int = 0
    alertsSent: Long = 0
    lastLatency: Double = 0.0


PROMPT_PROCESSING = Interface(
    name="PromptProcessing",
    indexed=False,
    description="Prompt processing: per-visit alert production on a warm pool of MPI ranks.",
    commands={**GENERIC_COMMANDS, "cancelVisit": CancelVisitCommand},
    events={
        **GENERIC_EVENTS,
        "visitPreloaded": VisitPreloadedEvent,
        "visitRefused": VisitRefusedEvent,
        "visitProcessed": VisitProcessedEvent,
        "visitLate": VisitLateEvent,
        "workerStatus": WorkerStatusEvent,
    },
    telemetry={"processingStatus": ProcessingStatusTelemetry},
)
