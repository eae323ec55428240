"""A simulated night's plan: dusk calibration sequences, then science visits at a cadence.

A visit is named by its ``groupId``, ``<dayobs>_<kind>_<number>`` (``20261130_science_0003``,
``20261130_bias_0001``), so every component can tell what a group is from the name alone.
``take_images_args`` turns a nextVisit into the camera's ``takeImages`` arguments: this is
how a night script executes what the ScriptQueue announced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dmcs.payloads.camera.camera import CameraSimulator

SCIENCE = "science"
CALIBRATION_KINDS = ("bias", "dark", "flat")
IMAGE_TYPES = {"bias": "BIAS", "dark": "DARK", "flat": "FLAT", SCIENCE: "OBJECT"}
SURVEYS = {SCIENCE: "WFD", **{kind: "calibration" for kind in CALIBRATION_KINDS}}
_GROUP_ID = re.compile(r"^(?P<dayobs>\d{8})_(?P<kind>[a-z]+)_(?P<number>\d+)$")


@dataclass(frozen=True)
class CalibrationSequence:
    """How many frames of one calibration kind, and their exposure time (0 for bias)."""

    kind: str
    count: int
    exposure_time: float


DEFAULT_CALIBRATIONS = (
    CalibrationSequence("bias", 3, 0.0),
    CalibrationSequence("dark", 3, 1.0),
    CalibrationSequence("flat", 3, 1.0),
)


@dataclass(frozen=True)
class PlannedVisit:
    """One group of exposures as nextVisit describes it (startTime is TAI seconds)."""

    group_id: str
    kind: str
    number: int
    start_time: float
    duration: float
    nimages: int
    exposure_time: float
    ra: float = 0.0
    dec: float = 0.0
    camera_angle: float = 0.0
    filters: str = ""

    def next_visit_fields(self, instrument: str) -> dict[str, Any]:
        """The fields of the ScriptQueue nextVisit event announcing this visit."""
        science = self.kind == SCIENCE
        return {
            "groupId": self.group_id,
            "coordinateSystem": 1 if science else 0,  # ICRS / none (MetadataCoordSys)
            "position": [self.ra, self.dec],
            "startTime": self.start_time,
            "rotationSystem": 1 if science else 0,  # Sky / none (MetadataRotSys)
            "cameraAngle": self.camera_angle,
            "filters": self.filters,
            "dome": 1 if science else 2,  # open / closed (MetadataDome)
            "duration": self.duration,
            "nimages": self.nimages,
            "instrument": instrument,
            "survey": SURVEYS[self.kind],
            "totalCheckpoints": self.nimages,
        }


def group_id(dayobs: str, kind: str, number: int) -> str:
    return f"{dayobs}_{kind}_{number:04d}"


def parse_group_id(value: str) -> tuple[str, str, int]:
    """(dayobs, kind, number) of a simulated groupId; ValueError naming a foreign one."""
    match = _GROUP_ID.match(value)
    if match is None or match["kind"] not in IMAGE_TYPES:
        raise ValueError(f"groupId {value!r} is not '<dayobs>_<kind>_<number>' with kind one "
                         f"of {', '.join(IMAGE_TYPES)}")
    return match["dayobs"], match["kind"], int(match["number"])


def parse_next_visit(group_id: str, nimages: int) -> tuple[str, int]:
    """(kind, number) of an announced visit; ValueError for a foreign groupId or no images."""
    _, kind, number = parse_group_id(group_id)
    if nimages < 1:
        raise ValueError(f"nimages must be >= 1, got {nimages}")
    return kind, number


def plan_night(
    simulator: CameraSimulator,
    dayobs: str,
    first_start: float,
    num_visits: int,
    cadence: float,
    *,
    calibrations: tuple[CalibrationSequence, ...] = DEFAULT_CALIBRATIONS,
    first_visit: int = 1,
    first_calibration: int = 1,
    overhead: float = 2.0,
) -> list[PlannedVisit]:
    """Calibration sequences back to back from ``first_start``, then science visits.

    ``duration`` is exposure time only (nextVisit's meaning); ``overhead`` seconds per image
    of readout are left between calibration sequences.

    Science visit ``n`` points where the camera simulator's visit ``n`` points, so the
    pixels, the announcement and the header agree. Each science visit has the simulator's
    snaps of its snap exposure time.
    """
    plan: list[PlannedVisit] = []
    start = first_start
    for sequence in calibrations:
        duration = sequence.count * sequence.exposure_time
        plan.append(PlannedVisit(group_id(dayobs, sequence.kind, first_calibration),
                                 sequence.kind, first_calibration, start, duration,
                                 sequence.count, sequence.exposure_time))
        start += duration + sequence.count * overhead
    model = simulator.model
    for offset in range(num_visits):
        number = first_visit + offset
        pointing = simulator.conditions(number).reported_pointing
        plan.append(PlannedVisit(
            group_id(dayobs, SCIENCE, number), SCIENCE, number, start + offset * cadence,
            model.snaps_per_visit * model.snap_exptime, model.snaps_per_visit,
            model.snap_exptime, pointing.ra, pointing.dec, pointing.rotation, "r",
        ))
    return plan


def take_images_args(next_visit: Any) -> dict[str, Any]:
    """``takeImages`` arguments that execute an announced visit (a nextVisit sample)."""
    _, kind, number = parse_group_id(next_visit.groupId)
    if next_visit.nimages < 1:
        raise ValueError(f"nextVisit {next_visit.groupId}: nimages must be >= 1, "
                         f"got {next_visit.nimages}")
    key_values = f"imageType: {IMAGE_TYPES[kind]}, groupId: {next_visit.groupId}"
    if kind == SCIENCE:
        key_values += f", visit: {number}"
    return {
        "numImages": next_visit.nimages,
        "expTime": next_visit.duration / next_visit.nimages,
        "shutter": kind in (SCIENCE, "flat"),
        "sensors": "",
        "keyValueMap": key_values,
        "obsNote": next_visit.survey,
    }
