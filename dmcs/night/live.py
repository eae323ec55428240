"""The live table `dmcs night` shows while it runs (rich), drawn from the observer's figures."""

from __future__ import annotations

from rich.console import Group as RenderGroup
from rich.table import Table
from rich.text import Text

from dmcs.night.observer import NightObserver
from dmcs.night.report import percentile
from dmcs.night.supervisor import Supervisor
from dmcs.services.dmcs.fleet import ABSENT
from dmcs.state_machines.summary_state import State

STATE_STYLES = {State.ENABLED: "green", State.DISABLED: "yellow", State.STANDBY: "cyan",
                State.FAULT: "bold red", State.OFFLINE: "dim"}


def state_text(value: int) -> Text:
    if value == ABSENT:
        return Text("absent", style="red")
    try:
        state = State(value)
    except ValueError:
        return Text(str(value))
    return Text(state.name, style=STATE_STYLES[state])


def render(observer: NightObserver, supervisor: Supervisor, script_line: str,
           elapsed_s: float, own_states: dict[str, int] | None = None) -> RenderGroup:
    """The live table. A CSC's state is what it last said itself (`own_states`), else what
    the DMCS relays for the services it manages."""
    services = Table(title="services", title_justify="left", expand=False)
    for column in ("service", "state", "pid", "restarts"):
        services.add_column(column)
    states = {"DMCS": observer.dmcs_state, **observer.service_states, **(own_states or {})}
    for label, managed in supervisor.managed.items():
        state = states.get(label)
        services.add_row(label, state_text(state) if state is not None else Text("-"),
                         str(managed.pid or "-"), str(managed.restarts))
    science = observer.science()
    latencies = observer.latencies()
    p50, p98 = percentile(latencies, 50), percentile(latencies, 98)
    night = Table(title="night", title_justify="left", show_header=False, expand=False)
    night.add_column("figure")
    night.add_column("value")
    rows = [
        ("script", script_line),
        ("elapsed", f"{elapsed_s:.0f} s"),
        ("in progress", observer.in_progress()),
        ("visits", f"{len(science)} announced, "
                   f"{sum(g.state == 'alerted' for g in science)} alerted, "
                   f"{sum(g.ever_late for g in science)} late, "
                   f"{sum(g.state == 'caught_up' for g in science)} caught up"),
        ("CCD images", f"{observer.images_read_out} read out, {observer.images_archived} "
                       f"archived of {observer.images_expected}"),
        ("backlog", str(observer.backlog)),
        ("alerts", str(observer.alerts)),
        ("latency", f"p50 {p50:.1f} s, p98 {p98:.1f} s" if p50 is not None and p98 is not None
         else "-"),
        ("daytime jobs", ", ".join(f"{j.pipeline}:{_job_state(j.exit_code)}"
                                   for j in observer.jobs.values()) or "-"),
    ]
    for label, value in rows:
        night.add_row(label, value)
    return RenderGroup(services, night)


def _job_state(exit_code: int | None) -> str:
    return "running" if exit_code is None else f"exit {exit_code}"
