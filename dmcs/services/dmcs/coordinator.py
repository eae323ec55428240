"""The DMCS's work as plain Python: its services, the night's visits, the daytime jobs.

The CSC (``csc.py``) maps its state commands onto ``bring_services_to`` and its events onto
the ``Publisher``; a test can drive a Coordinator directly.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from pathlib import Path
from typing import Protocol

from pydantic import Field

from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import PROMPT_PROCESSING
from dmcs.sal.remote import Remote
from dmcs.services.dmcs.daytime import Daytime, DaytimeConfig, JobOutcome
from dmcs.services.dmcs.fleet import FleetConfig, ServiceFleet
from dmcs.services.dmcs.visit_book import VisitBook, VisitRecord
from dmcs.services.dmcs.visit_tracker import VisitTracker
from dmcs.state_machines.summary_state import State

log = logging.getLogger(__name__)

BOOK_FILE = "visits.jsonl"


class DmcsConfig(DaytimeConfig, FleetConfig):
    """What the DMCS coordinates and how patiently. The services' and the daytime jobs'
    settings are declared beside the code that uses them; the visits' are here."""

    script_queue_index: int = Field(1, ge=1)
    ccds: int = Field(4, ge=1, description="CCDs archived per image.")
    ignored_surveys: list[str] = Field(
        default=["calibration"], description="nextVisit surveys that are not visits."
    )
    visit_deadline: float = Field(
        90.0,
        gt=0,
        description="Seconds after end of readout "
        "without alerts before the DMCS declares a visit late.",
    )
    state_dir: str = Field(
        "", description="Where the visit book lives; default $DMCS_HOME/dmcs/<subname>."
    )


class Publisher(Protocol):
    """Where the coordinator reports (the CSC's events)."""

    async def service_states(self, services: list[str], states: list[int]) -> None: ...
    async def service_fault(
        self, service: str, code: int, report: str, recoveries: int, action: str
    ) -> None: ...
    async def visit_state(self, record: VisitRecord) -> None: ...
    async def daytime_job(self, outcome: JobOutcome) -> None: ...
    async def give_up(self, report: str) -> None: ...


class Coordinator:
    """Opened while the DMCS is DISABLED or ENABLED; closed in STANDBY."""

    def __init__(
        self, domain: Domain, config: DmcsConfig, state_dir: Path, publisher: Publisher
    ) -> None:
        self.domain = domain
        self.config = config
        self.publisher = publisher
        self._tasks: set[asyncio.Task[None]] = set()
        self.book = VisitBook(state_dir / BOOK_FILE, listener=self._visit_changed)
        self.fleet = ServiceFleet(
            domain,
            config,
            on_states=publisher.service_states,
            on_fault=publisher.service_fault,
            on_exhausted=self._exhausted,
        )
        self.tracker = VisitTracker(
            domain,
            self.book,
            script_queue_index=config.script_queue_index,
            ccds=config.ccds,
            ignored_surveys=config.ignored_surveys,
            deadline_s=config.visit_deadline,
            on_overdue=self._cancel_in_prompt_processing,
        )
        self.daytime = Daytime(domain, self.book, config, on_job=publisher.daytime_job)

    async def open(self) -> None:
        await self.fleet.open()
        await self.tracker.start()

    async def close(self) -> None:
        await self.tracker.close()
        await self.fleet.close()
        for task in list(self._tasks):
            await task
        self.book.close()

    async def bring_services_to(self, target: State) -> None:
        """Walk the services (ServiceWalkError names the one that did not follow)."""
        await self.fleet.bring_to(target)

    async def run_daytime(self, *, calibrations: bool, catch_up: bool) -> list[JobOutcome]:
        return await self.daytime.run(calibrations=calibrations, catch_up=catch_up)

    def _visit_changed(self, record: VisitRecord) -> None:
        task = asyncio.ensure_future(self.publisher.visit_state(copy.copy(record)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _exhausted(self, service: str, report: str) -> None:
        await self.publisher.give_up(report)

    async def _cancel_in_prompt_processing(self, group_id: str, reason: str) -> None:
        """At most once: prompt processing must not send alerts for a visit declared late."""
        async with Remote(self.domain, PROMPT_PROCESSING, include=["summaryState"]) as pp:
            await pp.cmd("cancelVisit").start(groupId=group_id, reason=reason, timeout=10)
