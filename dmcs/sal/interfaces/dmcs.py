"""DMCS: the OCS-facing coordinator of the Data Management services (non-indexed).

Its summary state commands carry the services with it (``enable`` brings them up in order,
``disable``/``standby`` take them down in reverse). dmcs-defined topics:

- command ``runDaytime``: the daytime OCPS jobs (calibration update, catch-up of late visits);
  completes when every job has ended.
- event ``serviceStates``: the summary state of each service, comma-separated, in order
  (``-1``: not heard from, or its heartbeat stopped).
- event ``serviceFault``: a service went to FAULT (or vanished); what the DMCS does about it.
- event ``visitState``: a visit moved in its life (announced … alerted, late, caught up).
- event ``daytimeJob``: a daytime job was submitted or ended.
"""

from __future__ import annotations

from dmcs.sal.field_types import Bool, Double, Int, String
from dmcs.sal.interface import Interface
from dmcs.sal.interfaces.generic import GENERIC_COMMANDS, GENERIC_EVENTS
from dmcs.sal.sample import SalSample


class RunDaytimeCommand(SalSample):
    """Submit the daytime jobs and wait for them to end."""

    calibrations: Bool = True
    catchUp: Bool = True


class ServiceStatesEvent(SalSample):
    """Each managed service's summary state (SAL value; -1 absent), in bring-up order."""

    services: String = ""
    states: String = ""


class ServiceFaultEvent(SalSample):
    """A service left the state the DMCS wants: what it reported and what the DMCS does."""

    service: String = ""
    errorCode: Int = 0
    errorReport: String = ""
    recoveries: Int = 0
    action: String = ""


class VisitStateEvent(SalSample):
    """One visit's state (dmcs.state_machines.visit.VisitState value) and its counts."""

    groupId: String = ""
    state: String = ""
    imagesExpected: Int = 0
    ccdsArchived: Int = 0
    alerts: Int = 0
    latency: Double = 0.0
    reason: String = ""


class DaytimeJobEvent(SalSample):
    """A daytime OCPS job: submitted (exitCode -1) or ended (its exit code)."""

    jobId: String = ""
    pipeline: String = ""
    purpose: String = ""
    exitCode: Int = -1
    result: String = ""


DMCS = Interface(
    name="DMCS",
    indexed=False,
    description="Coordinator of the DM services: their states, every visit's state, daytime jobs.",
    commands={**GENERIC_COMMANDS, "runDaytime": RunDaytimeCommand},
    events={
        **GENERIC_EVENTS,
        "serviceStates": ServiceStatesEvent,
        "serviceFault": ServiceFaultEvent,
        "visitState": VisitStateEvent,
        "daytimeJob": DaytimeJobEvent,
    },
    telemetry={},
)
