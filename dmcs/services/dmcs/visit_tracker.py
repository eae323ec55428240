"""Turn the services' events into visit facts: nextVisit, camera, archiver, prompt processing.

Every event handled moves a per-topic watermark (send time, origin, sequence number) that is
saved with the visit it changed; a restarted DMCS replays each topic from its start and skips
what is at or below its watermark, so it neither misses nor double-counts an event. A visit
read out and still without alerts ``deadline_s`` later is declared late by the DMCS itself
(prompt processing is told to cancel it), so a dead prompt-processing service cannot leave a
visit hanging.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from dmcs.sal.domain import Domain
from dmcs.sal.interface import Interface, TopicKind
from dmcs.sal.interfaces import ARCHIVER, MT_CAMERA, PROMPT_PROCESSING, SCRIPT_QUEUE
from dmcs.sal.remote import Remote
from dmcs.sal.sample import SalSample
from dmcs.sal.topics.reader import TopicReader
from dmcs.services.dmcs.replay import replay
from dmcs.services.dmcs.visit_book import VisitBook

log = logging.getLogger(__name__)

OVERDUE_CHECK_S = 1.0
_VISIT_NUMBER = re.compile(r"_(\d+)$")


def additional(sample: Any, key: str) -> str:
    """A value of the camera's ``additionalKeys``/``additionalValues`` (":"-delimited)."""
    keys = sample.additionalKeys.split(":")
    values = sample.additionalValues.split(":")
    return dict(zip(keys, values, strict=False)).get(key, "")


class VisitTracker:
    """Feeds the visit book from events, live and (after a restart) replayed."""

    def __init__(
        self,
        domain: Domain,
        book: VisitBook,
        *,
        script_queue_index: int,
        ccds: int,
        ignored_surveys: list[str],
        deadline_s: float,
        on_overdue: Callable[[str, str], Awaitable[None]],
    ) -> None:
        self.domain = domain
        self.book = book
        self.ccds = ccds
        self.ignored_surveys = set(ignored_surveys)
        self.deadline_s = deadline_s
        self.on_overdue = on_overdue
        self.refused: list[tuple[str, str]] = []
        self._sources: list[tuple[Interface, int, dict[str, Callable[[Any], None]]]] = [
            (SCRIPT_QUEUE, script_queue_index, {"nextVisit": self._next_visit}),
            (
                MT_CAMERA,
                0,
                {"startIntegration": self._start_integration, "endReadout": self._end_readout},
            ),
            (ARCHIVER, 0, {"imageInOODS": self._image_in_oods}),
            (
                PROMPT_PROCESSING,
                0,
                {
                    "visitProcessed": self._visit_processed,
                    "visitLate": self._visit_late,
                    "visitRefused": self._visit_refused,
                },
            ),
        ]
        self._handlers = {
            f"{iface.name}.{name}": handler
            for iface, _, handlers in self._sources
            for name, handler in handlers.items()
        }
        self._buffer: list[tuple[str, SalSample]] | None = []
        self._remotes: list[Remote] = []
        self._overdue_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen live (buffered), replay what is on the broker, then handle the buffer."""
        for iface, index, handlers in self._sources:
            remote = Remote(self.domain, iface, index, include=list(handlers), listen_only=True)
            for name in handlers:
                key = f"{iface.name}.{name}"
                remote.evt(name).callback = lambda s, key=key: self._receive(key, s)
            await remote.start()
            self._remotes.append(remote)
        readers = [
            TopicReader(iface.spec(TopicKind.EVENT, name), index, history=False)
            for iface, index, handlers in self._sources
            for name in handlers
        ]
        replayed = await replay(self.domain, readers)
        buffered, self._buffer = self._buffer or [], None
        for key, sample in replayed + buffered:
            self.handle(key, sample)
        log.info(
            "visit tracker resumed: %d visits, %d events replayed",
            len(self.book.visits),
            len(replayed),
        )
        self._overdue_task = asyncio.create_task(self._watch_overdue())

    async def close(self) -> None:
        if self._overdue_task is not None:
            self._overdue_task.cancel()
            await asyncio.gather(self._overdue_task, return_exceptions=True)
        for remote in self._remotes:
            await remote.close()

    def _receive(self, key: str, sample: SalSample) -> None:
        if self._buffer is not None:
            self._buffer.append((key, sample))
        else:
            self.handle(key, sample)

    def handle(self, key: str, sample: SalSample) -> None:
        """Apply one event unless it was applied before (at or below the topic's watermark)."""
        mark = [sample.private_sndStamp, sample.private_origin, sample.private_seqNum]
        seen = self.book.marks.get(key)
        if seen is not None and mark <= seen:
            return
        self.book.note_mark(key, mark)
        self._handlers[key](sample)

    # --- handlers ------------------------------------------------------------------------

    def _next_visit(self, data: Any) -> None:
        if data.survey in self.ignored_surveys:
            return
        if data.nimages <= 0:
            log.warning("nextVisit %s refused: nimages %d", data.groupId, data.nimages)
            self.refused.append((data.groupId, f"nimages {data.nimages}"))
            return
        match = _VISIT_NUMBER.search(data.groupId)
        self.book.announce(
            data.groupId, data.nimages, self.ccds, visit=int(match[1]) if match else 0
        )

    def _start_integration(self, data: Any) -> None:
        group = additional(data, "groupId")
        if group in self.book.visits:
            self.book.integrating(group, data.imageName)

    def _end_readout(self, data: Any) -> None:
        group = additional(data, "groupId")
        if group in self.book.visits:
            self.book.read_out(group, data.imageName)

    def _image_in_oods(self, data: Any) -> None:
        if data.statusCode == 0:
            self.book.archived(data.obsid, f"{data.raft}_{data.sensor}")

    def _visit_processed(self, data: Any) -> None:
        if data.groupId in self.book.visits:
            self.book.processed(data.groupId, data.alerts, data.latency,
                                ccds_left=data.ccdsLate + data.ccdsFailed)

    def _visit_late(self, data: Any) -> None:
        if data.groupId in self.book.visits:
            self.book.late(data.groupId, data.reason or "late")

    def _visit_refused(self, data: Any) -> None:
        if data.groupId in self.book.visits:
            self.book.late(data.groupId, f"refused by prompt processing: {data.reason}")

    # --- overdue visits ------------------------------------------------------------------

    async def _watch_overdue(self) -> None:
        while True:
            await asyncio.sleep(OVERDUE_CHECK_S)
            for record in self.book.overdue(self.deadline_s):
                reason = f"no alerts {self.deadline_s:g} s after end of readout"
                self.book.late(record.groupId, reason)
                try:
                    await self.on_overdue(record.groupId, reason)
                except Exception as err:
                    log.warning("could not cancel %s in prompt processing: %s", record.groupId, err)
