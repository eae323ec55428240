"""`dmcs state`: walk a running component to a summary state, one command per step."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console

from dmcs.cli.component_ref import ComponentRef
from dmcs.cli.errors import error_console, one_line_errors
from dmcs.cli.options import (
    DEFAULT_TIMEOUT,
    BrokerOption,
    CommandTimeoutOption,
    RegistryOption,
    SubnameOption,
    sal_config,
)
from dmcs.cli.render import step_line
from dmcs.cli.session import remote_to, run_async
from dmcs.ocs import current_state, plan, require_running, walk_to_state
from dmcs.sal.config import SalConfig
from dmcs.state_machines.summary_state import State

console = Console(highlight=False)


class TargetState(StrEnum):
    """Summary states an operator can command a component into."""

    enabled = "enabled"
    disabled = "disabled"
    standby = "standby"
    offline = "offline"


def state(
    component: Annotated[str, typer.Argument(help="Component[:index], e.g. Test:1.")],
    target: Annotated[
        TargetState, typer.Argument(case_sensitive=False, help="The summary state to reach.")
    ],
    override: Annotated[
        str, typer.Option("--override", metavar="FILE",
                          help="Configuration override for the `start` step, if there is one.")
    ] = "",
    timeout: CommandTimeoutOption = DEFAULT_TIMEOUT,
    broker: BrokerOption = None,
    registry: RegistryOption = None,
    subname: SubnameOption = None,
) -> None:
    """Walk a CSC to TARGET, printing each state command sent.

    Sends start/enable/disable/standby/exitControl as needed; stops with the component's
    reason if one fails.
    """
    with one_line_errors():
        ref = ComponentRef.parse(component, to_command=True)
        config = sal_config(broker, subname, registry)
        run_async(_walk(ref, State[target.name.upper()], override, timeout, config))


async def _walk(
    ref: ComponentRef, target: State, override: str, timeout: float, config: SalConfig
) -> None:
    async with remote_to(ref, config, include=["summaryState"]) as remote:
        last = remote.evt("summaryState").get()
        if target == State.OFFLINE and last is not None and last.summaryState == State.OFFLINE:
            console.print(f"{ref.name} is already OFFLINE")
            return
        require_running(remote)
        start = current_state(remote)
        steps = plan(remote, start, target)
        if not steps:
            console.print(f"{ref.name} is already {target.name}")
            return
        if override and "start" not in steps:
            error_console.print(f"note: --override ignored: reaching {target.name} from "
                                f"{start.name} needs no start command")
        console.print(f"{ref.name}: {start.name} -> {target.name}")
        await walk_to_state(remote, target, start=start, timeout=timeout, override=override,
                            on_step=lambda *step: console.print(step_line(*step)))
