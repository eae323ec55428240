"""Every visit of the night, what is known about it, and its state — persisted line by line.

The facts (images read out, CCDs archived, alerts) arrive as events in any order; a visit's
state machine is advanced as far as the facts allow, so an archive that finishes after the
alerts were sent still walks the visit through ``archived`` and ``processed`` to ``alerted``.
Each change appends the visit's whole record to a JSON-lines file, together with the
watermarks of the events that made it (``note_mark``); a DMCS killed at any moment reads the
file back and resumes with every visit where it was. A torn last line, the mark of a kill
mid-write, is skipped whole: the fact and its watermark are lost together, so the event is
applied again on replay, never twice.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dmcs.state_machines.visit import FINAL_STATES, VisitMachine, VisitState

log = logging.getLogger(__name__)

MARKS_KEY = "_marks"


@dataclass
class VisitRecord:
    """What the DMCS knows about one visit."""

    groupId: str
    nimages: int
    ccds: int
    visit: int = 0
    state: VisitState = VisitState.ANNOUNCED
    images: list[str] = field(default_factory=list)
    read_out: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    duplicates: int = 0
    processed: bool = False
    alerts: int = 0
    alert_reports: int = 0
    latency: float = 0.0
    #: CCDs of an alerted visit that were late or failed: the catch-up's, CCD by CCD.
    ccds_left: int = 0
    ccds_caught_up: bool = False
    late_reason: str = ""
    read_out_at: float = 0.0
    catch_up_job: str = ""
    updated: float = 0.0

    @property
    def expected_ccds(self) -> int:
        return self.nimages * self.ccds

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


Listener = Callable[[VisitRecord], None]


class VisitBook:
    """The night's visits, keyed by groupId; `listener` hears every state change."""

    def __init__(self, path: Path, listener: Listener | None = None) -> None:
        self.path = path
        self.listener = listener
        self.visits: dict[str, VisitRecord] = {}
        self.marks: dict[str, list[Any]] = {}
        self._pending_marks: dict[str, list[Any]] = {}
        self._by_image: dict[str, str] = {}
        self._early_archived: dict[str, list[str]] = {}
        self._load()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 — held for the night

    def close(self) -> None:
        self._file.close()

    def __iter__(self) -> Iterator[VisitRecord]:
        return iter(self.visits.values())

    def get(self, group_id: str) -> VisitRecord | None:
        return self.visits.get(group_id)

    def note_mark(self, key: str, mark: list[Any]) -> None:
        """The watermark of topic `key`, saved with the next change of a visit."""
        self.marks[key] = mark
        self._pending_marks[key] = mark

    # --- facts ---------------------------------------------------------------------------

    def announce(self, group_id: str, nimages: int, ccds: int, visit: int = 0) -> VisitRecord:
        """A visit is coming (nextVisit); announcing it again changes nothing."""
        record = self.visits.get(group_id)
        if record is None:
            record = VisitRecord(group_id, nimages, ccds, visit=visit)
            self.visits[group_id] = record
            self._save(record)
            self._notify(record)
        return record

    def integrating(self, group_id: str, image_name: str) -> None:
        record = self._record(group_id)
        if record is None:
            return
        self._register_image(record, image_name)
        self._update(record)

    def read_out(self, group_id: str, image_name: str) -> None:
        record = self._record(group_id)
        if record is None:
            return
        self._register_image(record, image_name)
        if image_name not in record.read_out:
            record.read_out.append(image_name)
            if len(record.read_out) == record.nimages:
                record.read_out_at = time.time()
        self._update(record)

    def archived(self, image_name: str, ccd: str) -> VisitRecord | None:
        """One CCD of one image is in the archive; a second report of it is a duplicate.

        The camera's and the archiver's events travel on different topics: a CCD archived
        before its image's camera event arrived is held until the image is known.
        """
        group = self._by_image.get(image_name)
        if group is None:
            self._early_archived.setdefault(image_name, []).append(ccd)
            return None
        record = self.visits[group]
        key = f"{image_name}/{ccd}"
        if key in record.archived:
            record.duplicates += 1
        else:
            record.archived.append(key)
        self._update(record)
        return record

    def processed(self, group_id: str, alerts: int, latency: float, ccds_left: int = 0) -> None:
        """Prompt processing sent the visit's alerts (`ccds_left` of its CCDs are left to the
        catch-up); a second report is a duplicate."""
        record = self._record(group_id)
        if record is None:
            return
        record.alert_reports += 1
        if record.alert_reports == 1:
            record.processed = True
            record.alerts = alerts
            record.latency = latency
            record.ccds_left = ccds_left
        self._update(record)

    def late(self, group_id: str, reason: str) -> None:
        record = self._record(group_id)
        if record is None or record.final or record.state == VisitState.LATE:
            return
        record.late_reason = reason
        self._fire(record, "late")
        self._save(record)

    def catching_up(self, group_id: str, job_id: str) -> None:
        record = self._record(group_id)
        if record is not None:
            record.catch_up_job = job_id
            self._save(record)

    def caught_up(self, group_id: str) -> None:
        """The catch-up job ended well: a late visit is caught up, an alerted one's CCDs."""
        record = self._record(group_id)
        if record is not None and record.state == VisitState.LATE:
            self._fire(record, "catch_up")
            self._save(record)
        elif record is not None and record.ccds_left and not record.ccds_caught_up:
            record.ccds_caught_up = True
            self._save(record)

    # --- queries -------------------------------------------------------------------------

    def catch_up_visits(self) -> list[VisitRecord]:
        """Late visits, and alerted ones with CCDs left over: what the catch-up is for."""
        return [r for r in self.visits.values() if r.state == VisitState.LATE
                or (r.ccds_left and not r.ccds_caught_up)]

    def overdue(self, deadline_s: float, now: float | None = None) -> list[VisitRecord]:
        """Visits read out more than `deadline_s` ago and still without alerts."""
        now = time.time() if now is None else now
        return [
            r
            for r in self.visits.values()
            if r.read_out_at
            and not r.processed
            and not r.final
            and r.state != VisitState.LATE
            and now - r.read_out_at > deadline_s
        ]

    # --- internals -----------------------------------------------------------------------

    def _register_image(self, record: VisitRecord, image_name: str) -> None:
        if image_name in record.images:
            return
        record.images.append(image_name)
        self._by_image[image_name] = record.groupId
        for ccd in self._early_archived.pop(image_name, []):
            self.archived(image_name, ccd)

    def _record(self, group_id: str) -> VisitRecord | None:
        record = self.visits.get(group_id)
        if record is None and group_id:
            log.warning("event for unknown visit %r ignored (no nextVisit seen)", group_id)
        return record

    def _update(self, record: VisitRecord) -> None:
        """Advance the visit's state as far as its facts allow, then persist it."""
        machine = VisitMachine(record.state)
        steps: list[tuple[str, bool]] = [
            ("integrate", bool(record.images)),
            ("read_out", len(record.read_out) >= record.nimages),
            ("archive", len(record.archived) >= record.expected_ccds),
            ("process", record.processed),
            ("alert", record.processed),
        ]
        for trigger, ready in steps:
            if ready and machine.allowed(trigger):
                self._fire(record, trigger, machine)
        self._save(record)

    def _fire(self, record: VisitRecord, trigger: str, machine: VisitMachine | None = None) -> None:
        machine = machine or VisitMachine(record.state)
        record.state = machine.fire(trigger)
        self._notify(record)

    def _notify(self, record: VisitRecord) -> None:
        if self.listener is not None:
            try:
                self.listener(record)
            except Exception:
                log.exception("visit listener failed for %s", record.groupId)

    def _save(self, record: VisitRecord) -> None:
        record.updated = time.time()
        line = {**asdict(record), MARKS_KEY: self._pending_marks}
        self._pending_marks = {}
        self._file.write(json.dumps(line) + "\n")
        self._file.flush()

    def _load(self) -> None:
        if not self.path.exists():
            return
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                data: dict[str, Any] = json.loads(line)
                marks = data.pop(MARKS_KEY, {})
                record = None
                if data:
                    data["state"] = VisitState(data["state"])
                    record = VisitRecord(**data)
            except (ValueError, TypeError, KeyError):
                log.warning("skipped an unreadable line of %s (cut short by a kill?)", self.path)
                continue
            self.marks.update(marks)
            if record is not None:
                self.visits[record.groupId] = record
        for record in self.visits.values():
            for image in record.images:
                self._by_image[image] = record.groupId
        self._compact()

    def _compact(self) -> None:
        """Rewrite the file with one line per visit (atomically), so it never grows unbounded."""
        tmp = self.path.with_suffix(".tmp")
        lines = [json.dumps({MARKS_KEY: self.marks})]
        lines += [json.dumps(asdict(r)) for r in self.visits.values()]
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)
