"""ScriptQueue (indexed; 1 = Main): the visit announcements the DM services plan by.

``nextVisit`` and ``nextVisitCanceled`` have exactly ts_xml's fields (IDL short and int ->
Int; ``position`` is a 2-element double array: longitude, latitude in degrees).

dmcs extensions (the simulated queue runs no scripts; it announces what a night script will
do): ``announceVisit`` publishes one nextVisit now; ``planNight`` schedules calibration
sequences (bias, dark, flat) and N science visits and publishes each nextVisit
``leadTime`` seconds before its start; ``cancelVisit`` withdraws one (nextVisitCanceled).
The ``groupId`` of a simulated visit is ``<dayobs>_<kind>_<number>``
(see ``dmcs.sims.visit_plan``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from dmcs.sal.field_types import AvroArray, Bool, Double, Int, String
from dmcs.sal.interface import Interface
from dmcs.sal.interfaces.generic import GENERIC_COMMANDS, GENERIC_EVENTS
from dmcs.sal.sample import SalSample

Position = Annotated[list[float], AvroArray("double", 2), Field(min_length=2, max_length=2)]


class NextVisitEvent(SalSample):
    """Group ID and other information about the next script to be run."""

    scriptSalIndex: Int = 0
    groupId: String = ""
    coordinateSystem: Int = 0
    position: Position = [0.0, 0.0]
    startTime: Double = 0.0
    rotationSystem: Int = 0
    cameraAngle: Double = 0.0
    filters: String = ""
    dome: Int = 0
    duration: Double = 0.0
    nimages: Int = 0
    instrument: String = ""
    survey: String = ""
    totalCheckpoints: Int = 0


class NextVisitCanceledEvent(SalSample):
    """The group ID of an earlier nextVisit will not be used."""

    scriptSalIndex: Int = 0
    groupId: String = ""


class AnnounceVisitCommand(SalSample):
    """dmcs extension: publish a nextVisit for one visit now (startTime is TAI seconds)."""

    groupId: String = ""
    position: Position = [0.0, 0.0]
    startTime: Double = 0.0
    cameraAngle: Double = 0.0
    filters: String = ""
    duration: Double = 0.0
    nimages: Int = 0
    survey: String = ""


class PlanNightCommand(SalSample):
    """dmcs extension: schedule dusk calibrations and ``numVisits`` science visits.

    The first exposure starts ``leadTime`` seconds from now (0: the configured lead time);
    science visits follow every ``cadence`` seconds (0: configured). ``calibrations`` adds
    the bias, dark and flat sequences before the first science visit.
    """

    numVisits: Int = 1
    cadence: Double = 0.0
    leadTime: Double = 0.0
    calibrations: Bool = True


class CancelVisitCommand(SalSample):
    """dmcs extension: withdraw a planned or announced visit (publishes nextVisitCanceled)."""

    groupId: String = ""


SCRIPT_QUEUE = Interface(
    name="ScriptQueue",
    indexed=True,
    description="Script queue (simulated): announces each visit with nextVisit ahead of time.",
    commands={
        **GENERIC_COMMANDS,
        "announceVisit": AnnounceVisitCommand,
        "planNight": PlanNightCommand,
        "cancelVisit": CancelVisitCommand,
    },
    events={
        **GENERIC_EVENTS,
        "nextVisit": NextVisitEvent,
        "nextVisitCanceled": NextVisitCanceledEvent,
    },
    telemetry={},
)
