"""`dmcs report`: one self-contained HTML page of a run, for operators without Grafana.

Plots are drawn from the EFD (InfluxDB) and, if given, Prometheus: service states over time,
per-visit latency against the 60 s budget, archive backlog, alerts per visit, EFD writer lag.
PNGs are embedded (base64), so the page is one file to open or mail. A plot whose data is
absent says so, and why, instead of failing the page.

``write_report`` is synchronous (it runs its own event loop and draws with matplotlib); from
async code call it as ``await asyncio.to_thread(write_report, ...)``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import html
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import pandas as pd

from dmcs.dashboards.catalog import VISIT_BUDGET_SECONDS
from dmcs.state_machines.summary_state import State
from dmcs.telemetry.efd_client import EfdError, to_timestamp
from dmcs.telemetry.influx_http import DEFAULT_DATABASE, InfluxHttp
from dmcs.telemetry.prometheus_http import PrometheusHttp
from dmcs.telemetry.report_data import Line, RunData, RunQuery
from dmcs.telemetry.report_plots import alerts_png, latency_png, lines_png, states_png

#: A time as `write_report` takes it: unix seconds (UTC), datetime, Timestamp, ISO string.
TimeLike: TypeAlias = float | int | dt.datetime | pd.Timestamp | str

SECTIONS = ("Service states", f"Visit latency against the {VISIT_BUDGET_SECONDS} s budget",
            "Archive backlog", "Alerts per visit", "EFD writer lag")

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1060px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
img { max-width: 100%; } .absent { color: #a33; } .meta td { padding: 0 1em 0 0; }
.notes { color: #666; font-size: 0.9em; }
"""


@dataclass
class Section:
    """One titled part of the page: a picture and a line of figures, or why there is none."""

    title: str
    png: bytes | None
    summary: str
    notes: list[str]

    def html(self) -> str:
        parts = [f"<section><h2>{html.escape(self.title)}</h2>"]
        if self.png is None:
            parts.append(f'<p class="absent">No data: {html.escape(self.summary)}</p>')
        else:
            encoded = base64.b64encode(self.png).decode("ascii")
            parts.append(f'<img alt="{html.escape(self.title)}" '
                         f'src="data:image/png;base64,{encoded}">')
            parts.append(f"<p>{html.escape(self.summary)}</p>")
        if self.notes:
            items = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
            parts.append(f'<ul class="notes">{items}</ul>')
        return "".join(parts) + "</section>\n"


def to_utc(value: TimeLike, what: str) -> pd.Timestamp:
    """Unix seconds are UTC seconds (pandas alone would read a number as nanoseconds)."""
    if isinstance(value, (int, float)):
        return pd.Timestamp(value, unit="s", tz="UTC")
    return to_timestamp(value, what)


def write_report(efd_url: str, prometheus_url: str | None, out: Path, *, start: TimeLike,
                 end: TimeLike | None = None, database: str = DEFAULT_DATABASE) -> Path:
    """Write the report of the run between `start` and `end` (default now) to `out`."""
    begin = to_utc(start, "start")
    finish = to_utc(end, "end") if end is not None else pd.Timestamp.now(tz="UTC")
    if begin >= finish:
        raise EfdError(f"empty time range: start {begin.isoformat()} is not before end "
                         f"{finish.isoformat()}")
    data = asyncio.run(_collect(efd_url, prometheus_url, database, begin, finish))
    page = render_page(data, efd_url, prometheus_url)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out


async def _collect(efd_url: str, prometheus_url: str | None, database: str,
                   start: pd.Timestamp, end: pd.Timestamp) -> RunData:
    async with InfluxHttp(efd_url, database, timeout=60.0) as influx:
        prometheus = PrometheusHttp(prometheus_url) if prometheus_url else None
        try:
            return await RunQuery(influx, prometheus, start, end).collect()
        finally:
            if prometheus is not None:
                await prometheus.close()


def render_page(data: RunData, efd_url: str, prometheus_url: str | None) -> str:
    """The whole HTML page of `data`."""
    sections = [_states(data), _latency(data), _backlog(data), _alerts(data), _lag(data)]
    span = f"{data.start:%Y-%m-%d %H:%M:%S} – {data.end:%Y-%m-%d %H:%M:%S} UTC"
    meta = [("EFD database", data.database), ("time range", span), ("EFD", efd_url),
            ("Prometheus", prometheus_url or "not given"),
            ("written", f"{pd.Timestamp.now(tz='UTC'):%Y-%m-%d %H:%M:%S} UTC")]
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>"
                   for k, v in meta)
    title = f"dmcs run report: {data.start:%Y-%m-%d %H:%M} UTC"
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>\n"
            f'<h1>{html.escape(title)}</h1><table class="meta">{rows}</table>\n'
            + "".join(s.html() for s in sections) + "</body></html>\n")


def _section(index: int, data: RunData, key: str, has_data: bool, draw: Callable[[], bytes],
             summary: Callable[[], str], absent: str) -> Section:
    notes = data.notes.get(key, [])
    if not has_data:
        return Section(SECTIONS[index], None, absent, notes)
    return Section(SECTIONS[index], draw(), summary(), notes)


def _states(data: RunData) -> Section:
    def summary() -> str:
        faulted = [t.label for t in data.states if any(s == State.FAULT for _, s in t.changes)]
        text = f"{len(data.states)} component(s): {', '.join(t.label for t in data.states)}."
        return text + (f" Went to FAULT: {', '.join(faulted)}." if faulted else " No FAULT.")

    return _section(0, data, "states", bool(data.states),
                    lambda: states_png(data.states, data.end), summary,
                    "no summaryState of any component (lsst.sal.*) in the EFD")


def _latency(data: RunData) -> Section:
    visits = data.visits

    def summary() -> str:
        timed = [v.latency for v in visits if v.latency is not None]
        over = [v.group_id for v in visits if v.latency is not None
                and v.latency > VISIT_BUDGET_SECONDS]
        unalerted = [f"{v.group_id} ({v.outcome}{': ' + v.reason if v.reason else ''})"
                     for v in visits if v.latency is None]
        parts = [f"{len(visits)} visit(s)"]
        if timed:
            parts.append(f"latency p50 {statistics.median(timed):.1f} s, max {max(timed):.1f} s")
        parts.append(f"{len(over)} over the {VISIT_BUDGET_SECONDS} s budget"
                     + (f" ({', '.join(over)})" if over else ""))
        if unalerted:
            parts.append(f"not alerted at night: {', '.join(unalerted)}")
        return "; ".join(parts) + "."

    return _section(1, data, "visits", bool(visits),
                    lambda: latency_png(visits, VISIT_BUDGET_SECONDS), summary,
                    "no PromptProcessing visitProcessed or visitLate events in the EFD")


def _lines_section(index: int, data: RunData, key: str, lines: list[Line], ylabel: str,
                   absent: str) -> Section:
    """A chart of lines over the run, summed up by each line's peak and last value."""

    def summary() -> str:
        return "; ".join(f"{line.label}: peak {max(line.values):g}, "
                         f"at the end {line.values[-1]:g}" for line in lines) + "."

    return _section(index, data, key, bool(lines), lambda: lines_png(lines, ylabel), summary,
                    absent)


def _backlog(data: RunData) -> Section:
    return _lines_section(2, data, "backlog", data.backlog, "CCD images waiting",
                          "no Archiver or TelemetryGateway archiveStatus in the EFD, "
                          "nor dmcs_archive_backlog in Prometheus")


def _alerts(data: RunData) -> Section:
    visits = data.visits

    def summary() -> str:
        total = sum(v.alerts for v in visits)
        return f"{total} alert(s) from {len(visits)} visit(s)."

    return _section(3, data, "visits", bool(visits), lambda: alerts_png(visits), summary,
                    "no PromptProcessing visitProcessed events in the EFD")


def _lag(data: RunData) -> Section:
    return _lines_section(4, data, "lag", data.lag, "messages not yet in InfluxDB",
                          "no EFDWriter health telemetry in the EFD, "
                          "nor dmcs_efd_lag_messages in Prometheus")

