"""DmcsCsc: the coordinator as a CSC — state commands carry the services, events report."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from dmcs.csc.configurable_csc import ConfigurableCsc
from dmcs.sal.broker import runtime_dir
from dmcs.sal.interfaces import DMCS
from dmcs.sal.topics.controller_command import ExpectedError
from dmcs.services.dmcs.coordinator import Coordinator, DmcsConfig
from dmcs.services.dmcs.daytime import DaytimeError, JobOutcome
from dmcs.services.dmcs.fleet import ServiceRef, ServiceWalkError
from dmcs.services.dmcs.visit_book import VisitRecord
from dmcs.state_machines.summary_state import State

#: errorCode of a DMCS that gave up on a service.
SERVICE_LOST = 2


class DmcsCsc(ConfigurableCsc):
    """One `enable` brings the DM services up in order; `standby` takes them down.

    While ENABLED it keeps them ENABLED (recovering a faulted or restarted service up to
    `max_recoveries` times, then going to FAULT itself) and follows every visit.
    """

    interface = DMCS
    config_model = DmcsConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.coordinator: Coordinator | None = None

    async def configure(self, config: DmcsConfig) -> None:
        try:
            # A service's CSC module may import heavy science code: not on the event loop,
            # where it would stop our heartbeats.
            await asyncio.to_thread(lambda: [ServiceRef.parse(s) for s in config.services])
        except ValueError as err:
            raise ExpectedError(f"services: {err}") from None

    async def publish_startup_events(self) -> None:
        """A DMCS run straight into DISABLED or ENABLED follows the night at once."""
        await super().publish_startup_events()
        await self.handle_summary_state()

    def state_dir(self, config: DmcsConfig) -> Path:
        return (
            Path(config.state_dir)
            if config.state_dir
            else (runtime_dir() / "dmcs" / self.domain.subname)
        )

    async def handle_summary_state(self) -> None:
        active = self.summary_state in (State.DISABLED, State.ENABLED, State.FAULT)
        if active and self.coordinator is None and isinstance(self.config, DmcsConfig):
            coordinator = Coordinator(self.domain, self.config, self.state_dir(self.config), self)
            await coordinator.open()
            self.coordinator = coordinator
        elif not active and self.coordinator is not None:
            coordinator, self.coordinator = self.coordinator, None
            await coordinator.close()
        if self.summary_state != State.ENABLED and self.coordinator is not None:
            self.coordinator.fleet.stop_watching()

    async def begin_enable(self, data: Any) -> None:
        await self._bring_services_to(State.ENABLED)

    async def begin_disable(self, data: Any) -> None:
        await self._bring_services_to(State.DISABLED)

    async def begin_standby(self, data: Any) -> None:
        try:
            await self._bring_services_to(State.STANDBY)
        except ExpectedError as err:
            if self.summary_state != State.FAULT:
                raise
            self.log.warning("leaving FAULT although %s", err)

    async def _bring_services_to(self, target: State) -> None:
        assert self.coordinator is not None
        try:
            await self.coordinator.bring_services_to(target)
        except ServiceWalkError as err:
            raise ExpectedError(str(err)) from None

    async def do_runDaytime(self, data: Any) -> str:
        self.assert_enabled("runDaytime")
        assert self.coordinator is not None and isinstance(self.config, DmcsConfig)
        await self.controller.ack_in_progress(
            data, self.config.submit_timeout + self.config.job_timeout + 60,
            "daytime jobs submitted"
        )
        try:
            outcomes = await self.coordinator.run_daytime(
                calibrations=data.calibrations, catch_up=data.catchUp
            )
        except DaytimeError as err:
            raise ExpectedError(str(err)) from None
        failed = [o for o in outcomes if o.exit_code != 0]
        if failed:
            raise ExpectedError(
                "daytime jobs failed: "
                + ", ".join(
                    f"{o.pipeline} {o.job_id} ({o.exit_code}: {o.result[:100]})" for o in failed
                )
            )
        return f"{len(outcomes)} daytime job(s) succeeded: " + ", ".join(
            f"{o.pipeline} {o.job_id}" for o in outcomes
        )

    # --- Publisher: the coordinator's reports as events ----------------------------------

    async def service_states(self, services: list[str], states: list[int]) -> None:
        await self.controller.evt("serviceStates").set_write(
            services=",".join(services), states=",".join(str(s) for s in states)
        )

    async def service_fault(
        self, service: str, code: int, report: str, recoveries: int, action: str
    ) -> None:
        self.log.warning("%s: %s (%s)", service, report or "left its state", action)
        await self.controller.evt("serviceFault").set_write(
            service=service,
            errorCode=code,
            errorReport=report[:1000],
            recoveries=recoveries,
            action=action,
        )

    async def visit_state(self, record: VisitRecord) -> None:
        await self.controller.evt("visitState").set_write(
            groupId=record.groupId,
            state=str(record.state),
            imagesExpected=record.nimages,
            ccdsArchived=len(record.archived),
            alerts=record.alerts,
            latency=record.latency,
            reason=record.late_reason,
        )

    async def daytime_job(self, outcome: JobOutcome) -> None:
        await self.controller.evt("daytimeJob").set_write(
            jobId=outcome.job_id,
            pipeline=outcome.pipeline,
            purpose=outcome.purpose,
            exitCode=-1 if outcome.exit_code is None else outcome.exit_code,
            result=outcome.result[:2000],
        )

    async def give_up(self, report: str) -> None:
        await self.fault(SERVICE_LOST, report)

    async def close(self) -> None:
        if self.coordinator is not None:
            coordinator, self.coordinator = self.coordinator, None
            await coordinator.close()
        await super().close()
