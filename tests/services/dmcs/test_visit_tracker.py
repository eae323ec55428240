"""The DMCS's visit tracking over the real broker, and its resumption: events published while
the tracker was gone are applied once when it comes back (replayed from the broker), events it
had applied are not applied again, and a visit overdue for alerts is declared late."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from dmcs.sal.controller import Controller
from dmcs.sal.domain import Domain
from dmcs.sal.interface import Interface
from dmcs.sal.interfaces import ARCHIVER, MT_CAMERA, PROMPT_PROCESSING, SCRIPT_QUEUE
from dmcs.services.dmcs.visit_book import VisitBook
from dmcs.services.dmcs.visit_tracker import VisitTracker
from dmcs.state_machines.visit import VisitState

GROUP = "20261130_science_0001"


class Services:
    """Writers standing in for the ScriptQueue, camera, archiver and prompt processing."""

    def __init__(self, domain: Domain) -> None:
        self.controllers: dict[str, Controller] = {}
        specs: list[tuple[Interface, int]] = [(SCRIPT_QUEUE, 1), (MT_CAMERA, 0), (ARCHIVER, 0),
                                              (PROMPT_PROCESSING, 0)]
        for iface, index in specs:
            self.controllers[iface.name] = Controller(domain, iface, index)

    async def start(self) -> None:
        for controller in self.controllers.values():
            await controller.start()

    async def close(self) -> None:
        for controller in self.controllers.values():
            await controller.close()

    async def write(self, component: str, event: str, **fields: Any) -> None:
        await self.controllers[component].evt(event).set_write(**fields)

    async def image(self, name: str, ccds: list[str]) -> None:
        ids = {"imageName": name, "additionalKeys": "imageType:groupId",
               "additionalValues": f"OBJECT:{GROUP}"}
        await self.write("MTCamera", "startIntegration", **ids)
        await self.write("MTCamera", "endReadout", **ids)
        for ccd in ccds:
            raft, sensor = ccd.split("_")
            await self.write("Archiver", "imageInOODS", obsid=name, raft=raft, sensor=sensor)


@pytest.fixture
async def services(domain: Domain) -> AsyncIterator[Services]:
    writers = Services(domain)
    await writers.start()
    yield writers
    await writers.close()


def _tracker(domain: Domain, book: VisitBook, overdue: list[str],
             deadline_s: float = 600.0) -> VisitTracker:
    async def on_overdue(group: str, reason: str) -> None:
        overdue.append(group)

    return VisitTracker(domain, book, script_queue_index=1, ccds=2,
                        ignored_surveys=["calibration"], deadline_s=deadline_s,
                        on_overdue=on_overdue)


async def _settle(book: VisitBook, state: VisitState, archived: int) -> None:
    async with asyncio.timeout(20):
        while (book.visits.get(GROUP) is None or book.visits[GROUP].state != state
               or len(book.visits[GROUP].archived) != archived):
            await asyncio.sleep(0.05)


async def test_restarted_tracker_applies_missed_events_once(
    domain: Domain, services: Services, tmp_path: Path
) -> None:
    path = tmp_path / "visits.jsonl"
    book = VisitBook(path)
    tracker = _tracker(domain, book, [])
    await tracker.start()
    await services.write("ScriptQueue", "nextVisit", groupId=GROUP, nimages=2, survey="WFD")
    await services.write("ScriptQueue", "nextVisit", groupId="20261130_flat_0001", nimages=1,
                         survey="calibration")
    await _settle(book, VisitState.ANNOUNCED, 0)
    await services.image("MC_O_20261130_000001", ["R22_S11", "R22_S12"])
    await _settle(book, VisitState.INTEGRATING, 2)
    await tracker.close()
    book.close()  # the DMCS is gone; the night goes on without it

    await services.image("MC_O_20261130_000002", ["R22_S11", "R22_S12"])
    await services.write("PromptProcessing", "visitProcessed", groupId=GROUP, alerts=7,
                         latency=4.5)

    resumed = VisitBook(path)
    assert resumed.visits[GROUP].state == VisitState.INTEGRATING
    tracker = _tracker(domain, resumed, [])
    await tracker.start()
    record = resumed.visits[GROUP]
    assert record.state == VisitState.ALERTED
    assert (len(record.archived), record.duplicates, record.alert_reports) == (4, 0, 1)
    assert (record.alerts, record.latency) == (7, 4.5)
    assert list(resumed.visits) == [GROUP]
    await tracker.close()
    resumed.close()


async def test_overdue_visit_is_declared_late(
    domain: Domain, services: Services, tmp_path: Path
) -> None:
    book = VisitBook(tmp_path / "visits.jsonl")
    overdue: list[str] = []
    tracker = _tracker(domain, book, overdue, deadline_s=0.5)
    await tracker.start()
    await services.write("ScriptQueue", "nextVisit", groupId=GROUP, nimages=1, survey="WFD")
    await services.write("ScriptQueue", "nextVisit", groupId="20261130_science_0002",
                         nimages=0, survey="WFD")
    # nextVisit comes well ahead of the camera in a night; topics are not ordered between them
    await _settle(book, VisitState.ANNOUNCED, 0)
    await services.image("MC_O_20261130_000001", ["R22_S11", "R22_S12"])
    await _settle(book, VisitState.LATE, 2)
    assert overdue == [GROUP]
    assert "no alerts 0.5 s after end of readout" in book.visits[GROUP].late_reason
    assert tracker.refused == [("20261130_science_0002", "nimages 0")]
    await tracker.close()
    book.close()
