"""`dmcs command`: send one command with typed fields and show every ack as it arrives."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.console import Console

from dmcs.cli.component_ref import ComponentRef
from dmcs.cli.errors import CliError, ExitCode, one_line_errors
from dmcs.cli.field_values import parse_fields
from dmcs.cli.options import (
    DEFAULT_TIMEOUT,
    BrokerOption,
    CommandTimeoutOption,
    RegistryOption,
    SubnameOption,
    sal_config,
)
from dmcs.cli.render import ack_line
from dmcs.cli.session import remote_to, run_async
from dmcs.ocs.liveness import require_running
from dmcs.sal.ack import AckCmdModel, AckError
from dmcs.sal.config import SalConfig

console = Console(highlight=False)


def command(
    component: Annotated[str, typer.Argument(help="Component[:index], e.g. Test:1.")],
    name: Annotated[str, typer.Argument(metavar="COMMAND", help="Command name, e.g. setScalars.")],
    fields: Annotated[
        list[str] | None,
        typer.Argument(metavar="[FIELD=VALUE]...",
                       help="Command fields; arrays comma-separated (int0=1,2,3,4,5)."),
    ] = None,
    timeout: CommandTimeoutOption = DEFAULT_TIMEOUT,
    broker: BrokerOption = None,
    registry: RegistryOption = None,
    subname: SubnameOption = None,
) -> None:
    """Send COMMAND and print each ack (code, result, time since sent).

    Exits 0 on COMPLETE; otherwise FAILED 10, NOPERM 11, NOACK 12, TIMEOUT 13, ABORTED 14.
    """
    with one_line_errors():
        ref = ComponentRef.parse(component, to_command=True)
        model = ref.interface.commands.get(name)
        if model is None:
            known = ", ".join(sorted(ref.interface.commands))
            raise CliError(f"{ref.interface.name} has no command {name!r}; commands: {known}")
        values = parse_fields(model, name, fields or [])
        run_async(_send(ref, name, values, timeout, sal_config(broker, subname, registry)))


async def _send(
    ref: ComponentRef, name: str, values: dict[str, Any], timeout: float, config: SalConfig
) -> None:
    async with remote_to(ref, config) as remote:
        require_running(remote)
        sent = time.perf_counter()

        def show(ack: AckCmdModel) -> None:
            console.print(ack_line(ack, time.perf_counter() - sent))

        try:
            await remote.cmd(name).start(timeout=timeout, on_ack=show, **values)
        except AckError as err:
            raise CliError(f"{ref.name} {err}", ExitCode.for_ack(err.code)) from None
