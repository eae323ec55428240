"""`dmcs script`: run an OCS script in this process and follow it to its end."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from dmcs.cli.errors import CliError, one_line_errors
from dmcs.cli.options import BrokerOption, RegistryOption, SubnameOption, describe, sal_config
from dmcs.cli.session import connect, run_async
from dmcs.sal.config import SalConfig
from dmcs.sal.topics.controller_command import ExpectedError
from dmcs.scripts.base_script import BaseScript
from dmcs.scripts.registry import SCRIPTS, UnknownScriptError, script_class
from dmcs.scripts.runner import default_script_index, exit_status, run_script
from dmcs.state_machines.script_state import ScriptState

console = Console(highlight=False)
app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_scripts() -> None:
    """The scripts `dmcs script run` knows."""
    for name in sorted(SCRIPTS):
        console.print(f"{name:20} {script_class(name).description}")


@app.command("run")
def run(
    name: Annotated[str, typer.Argument(help="The script, e.g. sleep (see `dmcs script list`).")],
    config: Annotated[
        Path | None,
        typer.Option("--config", metavar="YAML", exists=True, dir_okay=False,
                     help="The script's configuration (YAML)."),
    ] = None,
    index: Annotated[
        int | None, typer.Option("--index", min=1, help="Script id (default: from the pid).")
    ] = None,
    broker: BrokerOption = None,
    registry: RegistryOption = None,
    subname: SubnameOption = None,
) -> None:
    """Configure and run a script; it can be paused, resumed and stopped as `Script:<index>`
    (e.g. `dmcs command Script:<index> pause`). Ctrl-C stops it. Exit 0 when it ends DONE."""
    with one_line_errors():
        try:
            cls = script_class(name)
        except UnknownScriptError as err:
            raise CliError(str(err)) from None
        text = config.read_text() if config is not None else ""
        state = run_async(_run(cls, index or default_script_index(), text,
                               sal_config(broker, subname, registry)), logging.WARNING)
    raise typer.Exit(exit_status(state))


async def _run(cls: type[BaseScript], index: int, text: str, config: SalConfig) -> ScriptState:
    loop = asyncio.get_running_loop()
    stop: asyncio.Future[Any] = loop.create_future()
    def on_signal() -> None:
        if not stop.done():
            stop.set_result(None)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    async with connect(config) as domain:
        def show(script: BaseScript) -> None:
            console.print(f"Script:{index} ({cls.__name__}) on "
                          f"{describe(config, domain.bootstrap_servers)}")
            script.log.setLevel(logging.INFO)
            script.log.propagate = False
            script.log.addHandler(_StateEcho())

        try:
            script = await run_script(domain, cls, index, text, stop_requested=stop,
                                      on_start=show)
        except ExpectedError as err:
            raise CliError(f"{cls.__name__}: {err}") from None
    console.print(f"Script:{index} ended {script.state.name}: {script.reason}")
    return script.state


class _StateEcho(logging.Handler):
    """Print the script's state changes and checkpoints as they happen."""

    def emit(self, record: logging.LogRecord) -> None:
        console.print(f"  {record.getMessage()}")
