"""What the night looks like from outside: the events an operator's display would follow.

Counts announced groups, images read out, CCDs archived, alerts and their latency, CCDs
alerted, late, failed and unprocessable, late and caught-up visits and daytime jobs, from the
services' own events (never from their insides), so the live table and the report show what
the wire showed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from dmcs.sal.domain import Domain
from dmcs.sal.interface import Interface
from dmcs.sal.interfaces import ARCHIVER, DMCS, MT_CAMERA, PROMPT_PROCESSING, SCRIPT_QUEUE
from dmcs.sal.remote import Remote
from dmcs.services.dmcs.fleet import ABSENT
from dmcs.state_machines.visit import SETTLED_STATES, VisitState

CALIBRATION_SURVEY = "calibration"


@dataclass
class Group:
    """One announced group of exposures."""

    group_id: str
    nimages: int
    science: bool
    read_out: list[str] = field(default_factory=list)
    state: str = VisitState.ANNOUNCED.value
    alerts: int = 0
    latency: float | None = None
    ever_late: bool = False
    ccds_alerted: int = 0


@dataclass
class Job:
    job_id: str
    pipeline: str
    purpose: str
    exit_code: int | None = None


class NightObserver:
    """Subscribes to the night's events; every figure of the live table and the report."""

    def __init__(self, domain: Domain, *, ccds: int, script_queue_index: int = 1) -> None:
        self.domain = domain
        self.ccds = ccds
        self.groups: dict[str, Group] = {}
        self.refused: list[str] = []
        self.archived: Counter[tuple[str, str]] = Counter()
        self.readout_times: dict[str, float] = {}
        self.archive_times: dict[tuple[str, str], float] = {}
        self.archive_failures = 0
        self.alert_reports: Counter[str] = Counter()
        self.ccds_missed: dict[tuple[str, str], str] = {}
        self.ccds_unprocessable: set[tuple[str, str]] = set()
        self.jobs: dict[str, Job] = {}
        self.service_states: dict[str, int] = {}
        self.service_faults: list[str] = []
        self.dmcs_state = ABSENT
        self.backlog = 0
        self._sources: list[tuple[Interface, int, dict[str, Any]]] = [
            (SCRIPT_QUEUE, script_queue_index, {"nextVisit": self._next_visit}),
            (MT_CAMERA, 0, {"endReadout": self._end_readout}),
            (ARCHIVER, 0, {"imageInOODS": self._image_in_oods,
                           "archiveStatus": self._archive_status}),
            (PROMPT_PROCESSING, 0, {"visitProcessed": self._visit_processed,
                                    "ccdLate": self._ccd_late,
                                    "ccdUnprocessable": self._ccd_unprocessable}),
            (DMCS, 0, {"summaryState": self._dmcs_state, "visitState": self._visit_state,
                       "serviceStates": self._service_states,
                       "serviceFault": self._service_fault, "daytimeJob": self._daytime_job}),
        ]
        self._remotes: list[Remote] = []

    async def start(self) -> None:
        for iface, index, handlers in self._sources:
            remote = Remote(self.domain, iface, index, include=list(handlers))
            for name, handler in handlers.items():
                reader = remote.tel(name) if name in iface.telemetry else remote.evt(name)
                reader.callback = handler
            await remote.start()
            self._remotes.append(remote)

    async def close(self) -> None:
        for remote in self._remotes:
            await remote.close()

    # --- figures -------------------------------------------------------------------------

    def science(self) -> list[Group]:
        return [g for g in self.groups.values() if g.science]

    @property
    def images_expected(self) -> int:
        """CCD images the plan calls for: every announced group's images times the CCDs."""
        return sum(g.nimages for g in self.groups.values()) * self.ccds

    @property
    def images_read_out(self) -> int:
        return sum(len(g.read_out) for g in self.groups.values()) * self.ccds

    @property
    def images_archived(self) -> int:
        return len(self.archived)

    @property
    def alerts(self) -> int:
        return sum(g.alerts for g in self.groups.values())

    @property
    def duplicate_alerts(self) -> int:
        """Alert batches sent more than once for a visit, by prompt processing or catch-up."""
        repeats = sum(n - 1 for n in self.alert_reports.values() if n > 1)
        both = sum(1 for g in self.science()
                   if self.alert_reports[g.group_id] and g.state == VisitState.CAUGHT_UP)
        return repeats + both

    @property
    def ccds_alerted(self) -> int:
        return sum(g.ccds_alerted for g in self.groups.values())

    def ccds_missed_as(self, kind: str) -> int:
        """CCDs prompt processing reported late or failed (`kind`), each once."""
        return sum(k == kind for k in self.ccds_missed.values())

    def latencies(self) -> list[float]:
        return [g.latency for g in self.science() if g.latency is not None]

    def in_progress(self) -> str:
        """The latest group being worked on: a science visit from its first readout until it
        is alerted, late or caught up; a calibration from its announcement until its last
        image is read out (the DMCS does not track calibrations further)."""
        active = [g.group_id for g in self.groups.values()
                  if (g.science and g.read_out and g.state not in SETTLED_STATES)
                  or (not g.science and len(g.read_out) < g.nimages)]
        return active[-1] if active else "-"

    # --- handlers ------------------------------------------------------------------------

    def _next_visit(self, data: Any) -> None:
        if data.nimages <= 0:
            self.refused.append(data.groupId)
            return
        self.groups.setdefault(data.groupId, Group(
            data.groupId, data.nimages, science=data.survey != CALIBRATION_SURVEY))

    def _end_readout(self, data: Any) -> None:
        keys = dict(zip(data.additionalKeys.split(":"), data.additionalValues.split(":"),
                        strict=False))
        self.readout_times.setdefault(data.imageName, data.private_sndStamp)
        group = self.groups.get(keys.get("groupId", ""))
        if group is not None and data.imageName not in group.read_out:
            group.read_out.append(data.imageName)

    def _image_in_oods(self, data: Any) -> None:
        if data.statusCode == 0:
            key = (data.obsid, f"{data.raft}_{data.sensor}")
            self.archived[key] += 1
            self.archive_times.setdefault(key, data.private_sndStamp)
        else:
            self.archive_failures += 1

    def _archive_status(self, data: Any) -> None:
        self.backlog = data.backlog

    def _visit_processed(self, data: Any) -> None:
        self.alert_reports[data.groupId] += 1
        group = self.groups.get(data.groupId)
        if group is not None and self.alert_reports[data.groupId] == 1:
            group.alerts = data.alerts
            group.latency = data.latency
            group.ccds_alerted = data.ccdsAlerted

    def _ccd_late(self, data: Any) -> None:
        self.ccds_missed.setdefault((data.groupId, data.detector), data.kind)

    def _ccd_unprocessable(self, data: Any) -> None:
        self.ccds_unprocessable.add((data.groupId, data.detector))

    def _visit_state(self, data: Any) -> None:
        group = self.groups.get(data.groupId)
        if group is not None:
            group.state = data.state
            group.ever_late |= data.state == VisitState.LATE

    def _dmcs_state(self, data: Any) -> None:
        self.dmcs_state = data.summaryState

    def _service_states(self, data: Any) -> None:
        if data.services:
            self.service_states.update(zip(data.services.split(","),
                                           (int(s) for s in data.states.split(",")),
                                           strict=True))

    def _service_fault(self, data: Any) -> None:
        self.service_faults.append(f"{data.service}: {data.errorReport} ({data.action})")

    def _daytime_job(self, data: Any) -> None:
        self.jobs[data.jobId] = Job(data.jobId, data.pipeline, data.purpose,
                                    None if data.exitCode == -1 else data.exitCode)
