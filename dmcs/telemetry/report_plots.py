"""The run report's pictures, drawn with matplotlib (Agg, no display) into PNG bytes.

One function per plot, each taking the plain data of :mod:`dmcs.telemetry.report_data`;
figures are built directly (no pyplot state), so drawing is safe off the main thread.
"""

from __future__ import annotations

import io

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from dmcs.state_machines.summary_state import State
from dmcs.telemetry.report_data import Line, StateTrack, Visit

WIDTH_IN = 10.0
DPI = 100
STATE_COLOURS: dict[int, str] = {
    State.ENABLED: "#2e9e44", State.DISABLED: "#e8b400", State.STANDBY: "#9aa5b1",
    State.FAULT: "#d7301f", State.OFFLINE: "#333333"}
OUTCOME_COLOURS = {"alerted": "#2e9e44", "late": "#d7301f", "caught up": "#e8b400"}


def _figure(height_in: float) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def to_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _utc_axis(ax: Axes) -> None:
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S", tz="UTC"))
    ax.set_xlabel("time (UTC)")
    ax.grid(True, alpha=0.3)


def _num(stamp: pd.Timestamp) -> float:
    return float(mdates.date2num(stamp.to_pydatetime(warn=False)))


def states_png(tracks: list[StateTrack], end: pd.Timestamp) -> bytes:
    """One row per component: coloured spans of the summary state it was in."""
    figure, ax = _figure(1.2 + 0.35 * len(tracks))
    stop = _num(end)
    for row, track in enumerate(tracks):
        spans = list(zip(track.changes, [*track.changes[1:], (end, 0)], strict=True))
        for (since, state), (until, _) in spans:
            ax.broken_barh([(_num(since), min(_num(until), stop) - _num(since))],
                           (row - 0.4, 0.8), facecolors=STATE_COLOURS.get(state, "white"))
    ax.set_yticks(range(len(tracks)), [t.label for t in tracks])
    ax.invert_yaxis()
    _utc_axis(ax)
    ax.legend(handles=[Patch(color=c, label=State(s).name) for s, c in STATE_COLOURS.items()],
              loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    return to_png(figure)


def latency_png(visits: list[Visit], budget_s: float) -> bytes:
    """Latency per visit as bars against the budget line; late visits marked at the line."""
    figure, ax = _figure(3.5)
    names = [v.group_id for v in visits]
    heights = [v.latency if v.latency is not None else budget_s for v in visits]
    colours = ["#2e9e44" if v.latency is not None and v.latency <= budget_s else "#d7301f"
               for v in visits]
    bars = ax.bar(range(len(visits)), heights, color=colours)
    for bar, visit in zip(bars, visits, strict=True):
        if visit.latency is None:
            bar.set_hatch("//")
            bar.set_alpha(0.4)
            ax.annotate(visit.outcome, (bar.get_x() + bar.get_width() / 2, budget_s),
                        ha="center", va="bottom", fontsize="small")
    ax.axhline(budget_s, color="#d7301f", linestyle="--", label=f"{budget_s:g} s budget")
    ax.set_xticks(range(len(visits)), names, rotation=30, ha="right", fontsize="small")
    ax.set_ylabel("end of readout to alerts (s)")
    ax.legend(loc="upper left")
    ax.grid(True, axis="y", alpha=0.3)
    return to_png(figure)


def alerts_png(visits: list[Visit]) -> bytes:
    """Alerts sent per visit, coloured by outcome."""
    figure, ax = _figure(3.5)
    ax.bar(range(len(visits)), [v.alerts for v in visits],
           color=[OUTCOME_COLOURS.get(v.outcome, "#9aa5b1") for v in visits])
    ax.set_xticks(range(len(visits)), [v.group_id for v in visits], rotation=30, ha="right",
                  fontsize="small")
    ax.set_ylabel("alerts")
    ax.legend(handles=[Patch(color=c, label=o) for o, c in OUTCOME_COLOURS.items()],
              loc="upper left")
    ax.grid(True, axis="y", alpha=0.3)
    return to_png(figure)


def lines_png(lines: list[Line], ylabel: str) -> bytes:
    """Time series on one axis, each with its own label (step lines: values hold until the
    next sample)."""
    figure, ax = _figure(3.5)
    for line in lines:
        ax.step([t.to_pydatetime(warn=False) for t in line.times], line.values, where="post",
                label=line.label, marker="." if len(line.values) < 50 else None)
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    _utc_axis(ax)
    ax.legend(loc="upper left", fontsize="small")
    return to_png(figure)
