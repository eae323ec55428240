"""ScriptQueue CSC (simulated): announces visits with nextVisit, lead_time seconds ahead.

It runs no scripts; ``planNight``/``announceVisit`` tell it what the night script will do,
and a background task publishes each nextVisit when it is due (while ENABLED).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from pydantic import Field

from dmcs.csc.configurable_csc import ConfigurableCsc
from dmcs.payloads.camera.camera import CameraSimulator
from dmcs.sal.interfaces import SCRIPT_QUEUE
from dmcs.sal.tai import current_tai
from dmcs.sal.topics.controller_command import ExpectedError
from dmcs.sims.announcer import SLACK, Announcer
from dmcs.sims.camera import CameraConfig, dayobs_of
from dmcs.sims.visit_plan import (
    CALIBRATION_KINDS,
    SCIENCE,
    CalibrationSequence,
    PlannedVisit,
    parse_next_visit,
    plan_night,
)
from dmcs.state_machines.summary_state import State
from dmcs.validation import StrictModel


class ScriptQueueConfig(StrictModel):
    """Lead time and cadence of announcements; seed and size must match the camera's."""

    instrument: str = "LSSTCam"
    lead_time: float = Field(20.0, ge=0)
    cadence: float = Field(40.0, gt=0)
    seed: int = Field(1, ge=0)
    detector_size: int = Field(512, ge=128, le=8192, multiple_of=16)
    calibration_counts: dict[str, int] = Field(
        default_factory=lambda: {"bias": 3, "dark": 3, "flat": 3})
    calibration_exposure_time: float = Field(1.0, ge=0)
    #: Seconds per calibration image beyond its exposure (readout), between sequences.
    readout_overhead: float = Field(2.0, ge=0)
    first_visit: int = Field(1, ge=0)


class ScriptQueueCsc(ConfigurableCsc):
    """Stands in for the observatory's queue: the visit announcements DM plans by."""

    interface = SCRIPT_QUEUE
    config_model = ScriptQueueConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.announcer = Announcer(20.0)
        self.simulator: CameraSimulator | None = None
        self.next_visit_number = 1
        self.next_calibration_number = 1
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def configure(self, config: ScriptQueueConfig) -> None:
        unknown = sorted(set(config.calibration_counts) - set(CALIBRATION_KINDS))
        if unknown:
            raise ExpectedError(f"calibration_counts: unknown kind(s) {', '.join(unknown)}; "
                                f"known: {', '.join(CALIBRATION_KINDS)}")
        self.announcer.lead_time = config.lead_time
        self.next_visit_number = max(self.next_visit_number, config.first_visit)
        self.simulator = CameraConfig.model_validate(
            {"seed": config.seed, "detector_size": config.detector_size}).simulator()

    @property
    def queue_config(self) -> ScriptQueueConfig:
        assert isinstance(self.config, ScriptQueueConfig)
        return self.config

    async def handle_summary_state(self) -> None:
        if self.summary_state == State.ENABLED and self._task is None:
            self._task = asyncio.create_task(self._announce_loop())
        elif self.summary_state != State.ENABLED and self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await super().close()

    async def do_planNight(self, data: Any) -> str:
        self.assert_enabled("planNight")
        config = self.queue_config
        if data.numVisits < 0:
            raise ExpectedError(f"numVisits must be >= 0, got {data.numVisits}")
        if data.cadence < 0 or data.leadTime < 0:
            raise ExpectedError("cadence and leadTime must be >= 0 (0 = configured value)")
        assert self.simulator is not None
        lead = data.leadTime or config.lead_time
        calibrations = tuple(
            CalibrationSequence(kind, count, 0.0 if kind == "bias"
                                else config.calibration_exposure_time)
            for kind, count in config.calibration_counts.items() if count > 0
        ) if data.calibrations else ()
        now = current_tai()
        plan = plan_night(self.simulator, dayobs_of(now), now + lead + SLACK, data.numVisits,
                          data.cadence or config.cadence, calibrations=calibrations,
                          first_visit=self.next_visit_number,
                          first_calibration=self.next_calibration_number,
                          overhead=config.readout_overhead)
        self._add(plan)
        self.next_visit_number += data.numVisits
        self.next_calibration_number += 1 if calibrations else 0
        return f"planned {len(plan)} group(s) from {plan[0].group_id}" if plan else "nothing"

    async def do_announceVisit(self, data: Any) -> str:
        self.assert_enabled("announceVisit")
        try:
            kind, number = parse_next_visit(data.groupId, data.nimages)
        except ValueError as err:
            raise ExpectedError(str(err)) from None
        lead = data.startTime - current_tai()
        if lead < self.queue_config.lead_time:
            raise ExpectedError(f"startTime is {lead:.1f} s ahead; nextVisit must come at "
                                f"least lead_time={self.queue_config.lead_time} s before")
        visit = PlannedVisit(data.groupId, kind, number, data.startTime, data.duration,
                             data.nimages, data.duration / data.nimages, ra=data.position[0],
                             dec=data.position[1], camera_angle=data.cameraAngle,
                             filters=data.filters)
        await self._publish(visit, survey=data.survey or None)
        self.announcer.announced[visit.group_id] = visit
        return f"announced {data.groupId}"

    async def do_cancelVisit(self, data: Any) -> str:
        self.assert_enabled("cancelVisit")
        try:
            announced = self.announcer.cancel(data.groupId)
        except ValueError as err:
            raise ExpectedError(str(err)) from None
        if announced:
            await self.controller.evt("nextVisitCanceled").set_write(groupId=data.groupId)
        self._wake.set()
        return f"canceled {data.groupId}" + (" (was announced)" if announced else "")

    def _add(self, plan: list[PlannedVisit]) -> None:
        try:
            self.announcer.add(plan)
        except ValueError as err:
            raise ExpectedError(str(err)) from None
        self._wake.set()

    async def _publish(self, visit: PlannedVisit, survey: str | None = None) -> None:
        fields = visit.next_visit_fields(self.queue_config.instrument)
        if survey is not None:
            fields["survey"] = survey
        await self.controller.evt("nextVisit").set_write(**fields)
        self.log.info("nextVisit %s (%s), starts in %.1f s", visit.group_id,
                      "science" if visit.kind == SCIENCE else visit.kind,
                      visit.start_time - current_tai())

    async def _announce_loop(self) -> None:
        """Publish each pending visit when it is due; a new plan or cancel wakes it early."""
        while True:
            for visit in self.announcer.pop_due(current_tai()):
                await self._publish(visit)
            due = self.announcer.next_due_time()
            self._wake.clear()
            timeout = None if due is None else max(0.0, due - current_tai())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
