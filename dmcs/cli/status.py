"""`dmcs status`: every component seen on the broker, its state, liveness and version."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dmcs.cli.component_ref import ComponentRef
from dmcs.cli.errors import one_line_errors
from dmcs.cli.options import BrokerOption, RegistryOption, SubnameOption, describe, sal_config
from dmcs.cli.render import age_text
from dmcs.cli.session import connect, run_async
from dmcs.csc.registry import get_interface, loadable_interfaces
from dmcs.sal.config import SalConfig
from dmcs.sal.controller import HEARTBEAT_ALIVE_SECONDS
from dmcs.sal.domain import Domain
from dmcs.sal.remote import Remote
from dmcs.sal.tai import current_tai
from dmcs.state_machines.summary_state import State

console = Console(highlight=False)
_TOPICS = ("heartbeat", "summaryState", "softwareVersions", "errorCode")


@dataclass
class Seen:
    """The latest samples of one component instance."""

    heartbeat: Any = None
    summaryState: Any = None
    softwareVersions: Any = None
    errorCode: Any = None


def status(
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.0,
                            help="Seconds to listen for live heartbeats after reading history.")
    ] = 1.0,
    broker: BrokerOption = None,
    registry: RegistryOption = None,
    subname: SubnameOption = None,
) -> None:
    """A table of every component seen: state, heartbeat age, software version.

    A component silent for more than 3 s shows as stopped (after going OFFLINE) or as
    crashed (silent in any other state); one in FAULT shows its errorCode and report.
    """
    with one_line_errors():
        run_async(_status(timeout, sal_config(broker, subname, registry)))


async def _status(timeout: float, config: SalConfig) -> None:
    seen: dict[tuple[str, int], Seen] = {}
    async with connect(config) as domain:
        interfaces, problems = loadable_interfaces()
        for problem in problems:
            console.print(f"[yellow]warning: {problem}", highlight=False)
        remotes = [_remote(domain, ComponentRef(i, 0), seen) for i in interfaces]
        await asyncio.gather(*(r.start() for r in remotes))
        await asyncio.sleep(timeout)
        now = current_tai()  # ages as of the end of listening, not of closing the readers
        await asyncio.gather(*(r.close() for r in remotes))
        where = describe(config, domain.bootstrap_servers)
    if not seen:
        console.print(f"no components seen on {where}")
        return
    console.print(f"components on {where}")
    table = Table()
    for column in ("component", "state", "heartbeat", "version"):
        table.add_column(column)
    for (name, index), item in sorted(seen.items()):
        table.add_row(ComponentRef(get_interface(name), index).name, *_cells(item, now))
    console.print(table)


def _remote(domain: Domain, ref: ComponentRef, seen: dict[tuple[str, int], Seen]) -> Remote:
    """A Remote on every index of a component that records what each index published."""
    remote = Remote(domain, ref.interface, 0, include=_TOPICS)

    def record(topic: str, sample: Any) -> None:
        item = seen.setdefault((ref.interface.name, sample.salIndex), Seen())
        setattr(item, topic, sample)

    for topic in _TOPICS:
        remote.evt(topic).callback = lambda sample, topic=topic: record(topic, sample)
    return remote


def _cells(item: Seen, now: float) -> tuple[str, str, str]:
    """State, heartbeat and version cells of one row."""
    state = State(item.summaryState.summaryState).name if item.summaryState else "?"
    version = item.softwareVersions.cscVersion if item.softwareVersions else ""
    if item.heartbeat is None:
        return f"[dim]not running (never sent a heartbeat; last state {state})", "—", version
    age = now - item.heartbeat.private_sndStamp
    beat = f"{age_text(age)} ago"
    if state == State.OFFLINE.name:
        return f"[dim]OFFLINE (stopped cleanly, last seen {beat})", beat, version
    if age > HEARTBEAT_ALIVE_SECONDS:
        return f"[red]crashed? silent since {beat} in {state}", beat, version
    if state == State.FAULT.name and item.errorCode is not None:
        fault = item.errorCode
        return f"[red]FAULT {fault.errorCode}: {fault.errorReport}", beat, version
    style = {"ENABLED": "green", "FAULT": "red"}.get(state, "")
    return (f"[{style}]{state}" if style else state), beat, version
