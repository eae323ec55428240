"""`dmcs watch`: tail a component's events and telemetry, one readable line per sample."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import typer
from rich.console import Console

from dmcs.cli.component_ref import ComponentRef
from dmcs.cli.errors import CliError, ExitCode, error_console, one_line_errors
from dmcs.cli.options import BrokerOption, RegistryOption, SubnameOption, sal_config
from dmcs.cli.render import sample_line
from dmcs.cli.session import connect, run_async
from dmcs.ocs.liveness import not_running_reason
from dmcs.sal.config import SalConfig
from dmcs.sal.remote import Remote
from dmcs.sal.sample import SalSample
from dmcs.sal.topics.reader import TopicReader

console = Console(highlight=False, soft_wrap=True)


def watch(
    component: Annotated[
        str, typer.Argument(help="Component[:index]; no index on an indexed one means all.")
    ],
    topics: Annotated[
        list[str] | None,
        typer.Argument(metavar="[TOPIC]...",
                       help="Event or telemetry names. Default: all but heartbeat."),
    ] = None,
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="Exit after this many samples.")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=0.0,
                     help="Exit after this many seconds (non-zero if --count was not reached)."),
    ] = None,
    private: Annotated[
        bool, typer.Option("--private", help="Show the private_* fields too.")
    ] = False,
    heartbeat: Annotated[
        bool, typer.Option("--heartbeat", help="Show heartbeats too.")
    ] = False,
    broker: BrokerOption = None,
    registry: RegistryOption = None,
    subname: SubnameOption = None,
) -> None:
    """Print each sample as it arrives: time, topic, index, fields.

    Events start with the latest value already published.
    """
    with one_line_errors():
        ref = ComponentRef.parse(component, to_command=False)
        wanted = _topics(ref, topics or [], heartbeat)
        config = sal_config(broker, subname, registry)
        run_async(_watch(ref, wanted, count, timeout, private, config))


def _topics(ref: ComponentRef, names: list[str], heartbeat: bool) -> list[str]:
    interface = ref.interface
    known = sorted({*interface.events, *interface.telemetry})
    for name in names:
        if name not in known:
            raise CliError(f"{interface.name} has no event or telemetry {name!r}; "
                           f"known: {', '.join(known)}")
    chosen = names or [n for n in known if n != "heartbeat"]
    return [*chosen, "heartbeat"] if heartbeat and "heartbeat" not in chosen else chosen


async def _watch(
    ref: ComponentRef, names: list[str], count: int | None, timeout: float | None,
    private: bool, config: SalConfig,
) -> None:
    seen = 0
    enough = asyncio.Event()
    async with connect(config) as domain:
        remote = Remote(domain, ref.interface, ref.index, include=names)
        readers = [r for n in names for r in _readers(remote, n)]
        width = max(len(r.name) for r in readers)

        def show(topic: str, sample: SalSample) -> None:
            nonlocal seen
            if enough.is_set():
                return
            console.print(sample_line(topic, sample, width=width, private=private),
                          markup=False)
            seen += 1
            if count is not None and seen >= count:
                enough.set()

        for reader in readers:
            reader.callback = lambda sample, topic=reader.name: show(topic, sample)
        if "heartbeat" not in names:
            remote.evt("heartbeat").callback = lambda sample: None
        async with remote:
            reason = not_running_reason(remote)
            if reason is not None and not enough.is_set():
                error_console.print(f"note: {reason}; waiting for samples")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(enough.wait(), timeout)
    if count is not None and seen < count:
        raise CliError(f"saw {seen} of {count} samples in {timeout} s", ExitCode.TIMEOUT)


def _readers(remote: Remote, name: str) -> list[TopicReader]:
    """The event and/or telemetry reader of that name."""
    interface = remote.interface
    return [
        *([remote.evt(name)] if name in interface.events else []),
        *([remote.tel(name)] if name in interface.telemetry else []),
    ]
