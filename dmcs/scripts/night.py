"""`night`: the observing night as one OCS script — enable, calibrate, observe, hand to day.

It enables the DMCS (which brings up every service), asks the ScriptQueue to plan the dusk
calibrations and N science visits, and executes each announced visit on the camera at its
start time; a checkpoint before each visit is where an operator's pause takes effect. Once
every visit is alerted or late, the DMCS runs the daytime jobs (calibration update and
catch-up). While it runs it keeps the DMCS ENABLED, as the OCS would: a DMCS restarted by
its process manager comes back in STANDBY and is walked up again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pydantic import Field

from dmcs.ocs import BUSY_ATTEMPTS, OcsError, walk_to_state
from dmcs.ocs.state_walk import published_state
from dmcs.sal.ack import AckError
from dmcs.sal.interfaces import DMCS, MT_CAMERA, SCRIPT_QUEUE
from dmcs.sal.remote import Remote
from dmcs.sal.tai import current_tai
from dmcs.scripts.base_script import BaseScript
from dmcs.state_machines.summary_state import State
from dmcs.state_machines.visit import SETTLED_STATES
from dmcs.validation import StrictModel

log = logging.getLogger(__name__)

CALIBRATION_SURVEY = "calibration"
KEEP_ENABLED_INTERVAL_S = 1.0


class NightConfig(StrictModel):
    """The night's shape; zeros mean the ScriptQueue's configured values."""

    visits: int = Field(3, ge=0, le=10000)
    cadence: float = Field(0.0, ge=0)
    lead_time: float = Field(0.0, ge=0)
    calibrations: bool = True
    daytime: bool = True
    script_queue_index: int = Field(1, ge=1)
    dmcs_override: str = ""
    enable_timeout: float = Field(600.0, gt=0)
    settle_timeout: float = Field(600.0, gt=0, description="Seconds to wait, after the last "
                                  "visit, for every visit to be alerted or late.")
    daytime_timeout: float = Field(3600.0, gt=0)


class NightScript(BaseScript):
    """Drives one simulated observing night through the DMCS."""

    config_model = NightConfig
    description = "An observing night: enable DM, dusk calibrations, N visits, daytime jobs."
    remotes = ("DMCS", "ScriptQueue", "MTCamera")

    async def configure(self, config: Any) -> None:
        self.night: NightConfig = config
        self.total_checkpoints = 3 + config.visits + (3 if config.calibrations else 0)
        self.visit_states: dict[str, str] = {}
        self.groups_taken: list[str] = []

    async def run(self) -> None:
        night = self.night
        async with (Remote(self.domain, DMCS, include=["summaryState", "visitState"]) as dmcs,
                    Remote(self.domain, SCRIPT_QUEUE, night.script_queue_index,
                           include=["nextVisit"]) as queue,
                    Remote(self.domain, MT_CAMERA, include=["summaryState"]) as camera):
            dmcs.evt("visitState").callback = self._on_visit_state
            await walk_to_state(dmcs, State.ENABLED, override=night.dmcs_override,
                                timeout=night.enable_timeout, attempts=BUSY_ATTEMPTS)
            await self.checkpoint("enabled", "DMCS and every service ENABLED")
            keeper = asyncio.create_task(self._keep_enabled(dmcs))
            try:
                await self._observe(queue, camera)
                await self.checkpoint("observed", f"{len(self.groups_taken)} groups taken")
                await self._settle()
                if night.daytime:
                    await self.checkpoint("daytime", "running the daytime jobs")
                    await self._run_daytime(dmcs)
            finally:
                keeper.cancel()
                await asyncio.gather(keeper, return_exceptions=True)

    async def _observe(self, queue: Remote, camera: Remote) -> None:
        """Plan the night, then take each announced group at its start time."""
        night = self.night
        queue.evt("nextVisit").flush()
        await queue.cmd("planNight").start(numVisits=night.visits, cadence=night.cadence,
                                           leadTime=night.lead_time,
                                           calibrations=night.calibrations, timeout=60)
        from dmcs.sims.visit_plan import take_images_args

        science = 0
        while science < night.visits:
            announced = await queue.evt("nextVisit").next(flush=False, timeout=None)
            if announced.survey != CALIBRATION_SURVEY:
                science += 1
            await self.checkpoint(announced.groupId, f"next: {announced.groupId}")
            delay = announced.startTime - current_tai()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                args = take_images_args(announced)
                await camera.cmd("takeImages").start(
                    **args, timeout=args["numImages"] * (args["expTime"] + 60))
            except (AckError, ValueError) as err:
                log.warning("%s not taken: %s", announced.groupId, err)
                continue
            self.groups_taken.append(announced.groupId)

    async def _settle(self) -> None:
        """Wait until every science visit is alerted, late or caught up (or give up waiting)."""
        try:
            async with asyncio.timeout(self.night.settle_timeout):
                while not self._all_settled():
                    await asyncio.sleep(0.5)
        except TimeoutError:
            in_flight = [g for g, s in self.visit_states.items() if s not in SETTLED_STATES]
            log.warning("visits still in flight after %.0f s: %s", self.night.settle_timeout,
                        ", ".join(in_flight))

    async def _run_daytime(self, dmcs: Remote) -> None:
        """runDaytime; sent again if the DMCS process is replaced while it runs (the old
        process can no longer answer, and the new one's heartbeats look alive)."""
        async with asyncio.timeout(self.night.daytime_timeout):
            while True:
                await _until_enabled(dmcs)
                origin = _heartbeat_origin(dmcs)
                command = asyncio.ensure_future(dmcs.cmd("runDaytime").start(
                    calibrations=True, catchUp=True, timeout=self.night.daytime_timeout))
                while not command.done() and _heartbeat_origin(dmcs) in (origin, None):
                    await asyncio.wait([command], timeout=KEEP_ENABLED_INTERVAL_S)
                if command.done():
                    command.result()
                    return
                command.cancel()
                await asyncio.gather(command, return_exceptions=True)
                log.warning("DMCS restarted during runDaytime; sending it again once enabled")
                await _until_enabled(dmcs)

    def _all_settled(self) -> bool:
        return all(state in SETTLED_STATES for state in self.visit_states.values())

    def _on_visit_state(self, data: Any) -> None:
        self.visit_states[data.groupId] = data.state

    async def _keep_enabled(self, dmcs: Remote) -> None:
        """Walk the DMCS back to ENABLED whenever it comes back in another state."""
        while True:
            await asyncio.sleep(KEEP_ENABLED_INTERVAL_S)
            try:
                state = await published_state(dmcs, timeout=KEEP_ENABLED_INTERVAL_S)
                if state in (State.STANDBY, State.DISABLED):
                    log.warning("DMCS is in %s; walking it back to ENABLED", state.name)
                    await walk_to_state(dmcs, State.ENABLED, override=self.night.dmcs_override,
                                        timeout=self.night.enable_timeout,
                                        attempts=BUSY_ATTEMPTS)
            except OcsError as err:
                log.warning("could not re-enable the DMCS: %s", err)


def _heartbeat_origin(remote: Remote) -> int | None:
    beat: Any = remote.evt("heartbeat").get()
    return None if beat is None else int(beat.private_origin)


async def _until_enabled(remote: Remote) -> None:
    while True:
        sample: Any = remote.evt("summaryState").get()
        if sample is not None and sample.summaryState == State.ENABLED:
            return
        await asyncio.sleep(KEEP_ENABLED_INTERVAL_S)
