"""What a run report shows, read from the EFD and Prometheus: plain data, no drawing.

Every figure comes from topics the services publish (names from their interfaces in
`dmcs/sal/interfaces`), so the report needs nothing but the two databases:

- service states: `<Component>.logevent_summaryState` of every component in the EFD, with the
  state each one held when the range began;
- visits: PromptProcessing `logevent_visitProcessed` (latency, alerts) and `logevent_visitLate`,
  DMCS `logevent_visitState` for visits caught up in daytime;
- archive backlog: Archiver and TelemetryGateway `archiveStatus.backlog`, Prometheus
  `dmcs_archive_backlog`;
- EFD writer lag: EFDWriter `health.lagTotal`, Prometheus `dmcs_efd_lag_messages`.

A source that is down or empty is not an error: its section says why it has no data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dmcs.telemetry.influx_http import InfluxError, InfluxHttp
from dmcs.telemetry.prometheus_http import PrometheusError, PrometheusHttp

PROMETHEUS_POINTS = 300


@dataclass
class Line:
    """One time series of a plot."""

    label: str
    times: list[pd.Timestamp]
    values: list[float]


@dataclass
class StateTrack:
    """One component's summary states: (since, state value), oldest first."""

    label: str
    changes: list[tuple[pd.Timestamp, int]]


@dataclass
class Visit:
    """One visit's outcome: alerted (latency, alerts), late, or caught up in daytime."""

    group_id: str
    time: pd.Timestamp
    outcome: str
    latency: float | None = None
    alerts: int = 0
    reason: str = ""


@dataclass
class RunData:
    """Everything the report draws, and per section why some source had nothing."""

    database: str
    start: pd.Timestamp
    end: pd.Timestamp
    components: list[str] = field(default_factory=list)
    states: list[StateTrack] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    backlog: list[Line] = field(default_factory=list)
    lag: list[Line] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)

    def note(self, section: str, text: str) -> None:
        self.notes.setdefault(section, []).append(text)


def _rows(results: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """InfluxDB results as {measurement: [row dict, ...]} (times as UTC Timestamps)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        for series in result.get("series", []):
            columns = series["columns"]
            rows = out.setdefault(series["name"], [])
            for values in series["values"]:
                row = dict(zip(columns, values, strict=True))
                if "time" in row:
                    row["time"] = pd.Timestamp(row["time"], unit="ns", tz="UTC")
                rows.append(row)
    return out


class RunQuery:
    """Reads one run (time range) from an EFD database and, if given, a Prometheus.

    Measurements are named as the site's EFD names them: ``lsst.sal.<Component>.<topic>``.
    """

    def __init__(self, influx: InfluxHttp, prometheus: PrometheusHttp | None,
                 start: pd.Timestamp, end: pd.Timestamp) -> None:
        self.influx = influx
        self.prometheus = prometheus
        self.data = RunData(influx.database, start, end)
        self._prefix = "lsst\\.sal\\."
        self._range = f"time >= {start.value} AND time <= {end.value}"

    def topic(self, component: str, name: str) -> str:
        return f'"lsst.sal.{component}.{name}"'

    async def collect(self) -> RunData:
        await self._states()
        await self._visits()
        await self._backlog()
        await self._lag()
        return self.data

    async def _select(self, section: str, query: str) -> dict[str, list[dict[str, Any]]]:
        try:
            return _rows(await self.influx.query(query, epoch="ns"))
        except InfluxError as err:
            self.data.note(section, f"EFD: {err}")
            return {}

    async def _prometheus_lines(self, section: str, target: list[Line], label: str,
                                promql: str) -> None:
        if self.prometheus is None:
            self.data.note(section, f"{label}: no Prometheus given")
            return
        start, end = self.data.start.timestamp(), self.data.end.timestamp()
        step = max((end - start) / PROMETHEUS_POINTS, 1.0)
        try:
            series = await self.prometheus.query_range(promql, start, end, step)
        except PrometheusError as err:
            self.data.note(section, f"{label}: {err}")
            return
        for one in series:
            points = [(t, float(v)) for t, v in one["values"] if v not in ("NaN", "+Inf")]
            if points:
                target.append(Line(label, [pd.Timestamp(t, unit="s", tz="UTC")
                                           for t, _ in points], [v for _, v in points]))

    async def _states(self) -> None:
        data = self.data
        found = await self._select("states", f"SHOW MEASUREMENTS WITH MEASUREMENT =~ "
                                             f"/^{self._prefix}[^.]+\\./")
        names = [row["name"] for rows in found.values() for row in rows]
        data.components = sorted({n.split(".")[2] for n in names if n.count(".") >= 3})
        source = f"/^{self._prefix}[^.]+\\.logevent_summaryState$/"
        fields = 'SELECT "summaryState", "salIndex" FROM ' + source
        before = await self._select("states", f"{fields} WHERE time < {data.start.value} "
                                              "ORDER BY time DESC LIMIT 100")
        during = await self._select("states", f"{fields} WHERE {self._range}")
        tracks: dict[str, list[tuple[pd.Timestamp, int]]] = {}
        for measurement in sorted({*before, *during}):
            component = measurement.split(".")[2]
            held: dict[int, int] = {}
            for row in before.get(measurement, []):
                if row["summaryState"] is not None:
                    held.setdefault(int(row["salIndex"] or 0), int(row["summaryState"]))
            for index, state in held.items():
                tracks.setdefault(_label(component, index), []).append((data.start, state))
            for row in during.get(measurement, []):
                if row["summaryState"] is None:
                    continue
                index = int(row["salIndex"] or 0)
                tracks.setdefault(_label(component, index), []).append(
                    (row["time"], int(row["summaryState"])))
        data.states = [StateTrack(label, sorted(changes)) for label, changes
                       in sorted(tracks.items())]
        silent = sorted(set(data.components) - {t.label.split(":")[0] for t in data.states})
        if silent:
            data.note("states", f"no summaryState in the EFD for {', '.join(silent)}")

    async def _visits(self) -> None:
        visits: dict[str, Visit] = {}
        done = await self._select("visits", 'SELECT "groupId", "latency", "alerts" FROM '
                                  f'{self.topic("PromptProcessing", "logevent_visitProcessed")} '
                                  f"WHERE {self._range}")
        for row in next(iter(done.values()), []):
            visits[row["groupId"]] = Visit(row["groupId"], row["time"], "alerted",
                                           float(row["latency"] or 0.0), int(row["alerts"] or 0))
        late = await self._select("visits", 'SELECT "groupId", "reason" FROM '
                                  f'{self.topic("PromptProcessing", "logevent_visitLate")} '
                                  f"WHERE {self._range}")
        for row in next(iter(late.values()), []):
            visits.setdefault(row["groupId"], Visit(row["groupId"], row["time"], "late",
                                                    reason=row["reason"]))
        final = await self._select("visits", 'SELECT "groupId", "state", "alerts" FROM '
                                   f'{self.topic("DMCS", "logevent_visitState")} '
                                   f"WHERE {self._range} AND \"state\" = 'caught_up'")
        for row in next(iter(final.values()), []):
            visit = visits.setdefault(row["groupId"], Visit(row["groupId"], row["time"], ""))
            visit.outcome = "caught up"
            visit.alerts = int(row["alerts"] or 0)
        self.data.visits = sorted(visits.values(), key=lambda v: v.time)

    async def _efd_lines(self, section: str, target: list[Line],
                         sources: list[tuple[str, str, str]]) -> None:
        for component, topic, name in sources:
            rows = await self._select(section, f'SELECT "{name}" FROM '
                                      f"{self.topic(component, topic)} WHERE {self._range}")
            for measurement_rows in rows.values():
                points = [(r["time"], float(r[name])) for r in measurement_rows
                          if r[name] is not None]
                if points:
                    target.append(Line(f"{component} {topic}.{name} (EFD)",
                                       [t for t, _ in points], [v for _, v in points]))

    async def _backlog(self) -> None:
        backlog = self.data.backlog
        await self._efd_lines("backlog", backlog, [
            ("Archiver", "archiveStatus", "backlog"),
            ("TelemetryGateway", "archiveStatus", "backlog")])
        await self._prometheus_lines("backlog", backlog, "dmcs_archive_backlog (Prometheus)",
                                     "sum(dmcs_archive_backlog)")

    async def _lag(self) -> None:
        lag = self.data.lag
        await self._efd_lines("lag", lag, [("EFDWriter", "health", "lagTotal")])
        await self._prometheus_lines("lag", lag, "dmcs_efd_lag_messages (Prometheus)",
                                     "sum(dmcs_efd_lag_messages)")


def _label(component: str, index: int) -> str:
    return f"{component}:{index}" if index else component
