"""`dmcs run`: one CSC in this process, until it goes OFFLINE or is told to stop."""

from __future__ import annotations

import asyncio
import logging
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from dmcs import metrics
from dmcs.cli.component_ref import ComponentRef
from dmcs.cli.errors import CliError, ExitCode, one_line_errors
from dmcs.cli.options import BrokerOption, RegistryOption, SubnameOption, describe, sal_config
from dmcs.cli.session import connect, run_async, stop_signals
from dmcs.csc.base_csc import BaseCsc
from dmcs.csc.configurable_csc import ConfigurableCsc
from dmcs.csc.registry import component_names, csc_class
from dmcs.sal.config import SalConfig
from dmcs.sal.controller import DuplicateInstanceError
from dmcs.sal.topics.controller_command import ExpectedError
from dmcs.settings import CONFIG_DIR_ENV, settings
from dmcs.state_machines.summary_state import State

console = Console(highlight=False)


class InitialState(StrEnum):
    """States a CSC may start in."""

    STANDBY = "STANDBY"
    DISABLED = "DISABLED"
    ENABLED = "ENABLED"


def run(
    component: Annotated[str, typer.Argument(
        help=f"The CSC to run, one of: {', '.join(component_names())}.")],
    index: Annotated[
        int | None, typer.Option("--index", help="Index of an indexed component (> 0).")
    ] = None,
    state: Annotated[
        InitialState,
        typer.Option("--state", case_sensitive=False, help="Summary state to start in."),
    ] = InitialState.STANDBY,
    override: Annotated[
        str | None,
        typer.Option("--override", metavar="FILE",
                     help="Configuration override (a file in the config dir) applied when "
                     "starting in DISABLED or ENABLED."),
    ] = None,
    config_dir: Annotated[
        Path | None,
        typer.Option("--config-dir", metavar="DIR", file_okay=False,
                     help="Configuration root: one folder per component (DIR/Test/_init.yaml "
                     "and overrides). Default: $DMCS_CONFIG_DIR, else the packaged ones."),
    ] = None,
    metrics_port: Annotated[
        int,
        typer.Option("--metrics-port", metavar="PORT", min=0,
                     help="Serve Prometheus metrics on 127.0.0.1:PORT/metrics (0: off)."),
    ] = 0,
    broker: BrokerOption = None,
    registry: RegistryOption = None,
    subname: SubnameOption = None,
) -> None:
    """Run a CSC until it goes OFFLINE (exitControl) or gets SIGINT/SIGTERM (clean close)."""
    with one_line_errors():
        ref = ComponentRef.parse(component, index=index, to_command=True)
        factory = _runnable(ref.interface.name)
        options = _config_options(factory, State[state.value], override, config_dir)
        config = sal_config(broker, subname, registry)
        if metrics_port:
            metrics.serve(metrics_port)
        run_async(_run(ref, factory, State[state.value], options, config, metrics_port),
                  logging.INFO)


async def _run(
    ref: ComponentRef, factory: type[BaseCsc], state: State, options: dict[str, Any],
    config: SalConfig, metrics_port: int,
) -> None:
    async with connect(config) as domain:
        signalled = stop_signals()
        csc = factory(domain, ref.index, initial_state=state, **options)
        try:
            await csc.start()
        except DuplicateInstanceError as err:
            await csc.close()
            raise CliError(str(err), ExitCode.DUPLICATE) from None
        except ExpectedError as err:
            await csc.close()
            raise CliError(f"cannot start {ref.name}: {err}") from None
        where = describe(config, domain.bootstrap_servers)
        served = f", metrics on 127.0.0.1:{metrics_port}/metrics" if metrics_port else ""
        console.print(f"{ref.name} running in {state.name} on {where}, pid {os.getpid()}"
                      f"{served}; Ctrl-C stops it")
        reason = await _until_offline_or_signal(csc, signalled)
        await csc.close()
        console.print(f"{ref.name} stopped: {reason}")


def _runnable(name: str) -> type[BaseCsc]:
    try:
        return csc_class(name)
    except ValueError as err:
        raise CliError(str(err)) from None


def _config_options(
    factory: object, state: State, override: str | None, config_dir: Path | None
) -> dict[str, Any]:
    """Configuration options for a configurable CSC; a user error for any other.

    The configuration root is --config-dir, else $DMCS_CONFIG_DIR (ignored by CSCs without
    configuration, so one environment serves a whole deployment), else the packaged defaults.
    """
    configurable = isinstance(factory, type) and issubclass(factory, ConfigurableCsc)
    if not configurable and (override or config_dir):
        raise CliError("--override and --config-dir apply only to configurable CSCs")
    if override and state == State.STANDBY:
        raise CliError("--override applies when starting in DISABLED or ENABLED "
                       "(in STANDBY, give it to `dmcs state ... --override`)")
    root = config_dir if config_dir is not None else settings().config_root
    source = "--config-dir" if config_dir is not None else f"${CONFIG_DIR_ENV}"
    options: dict[str, Any] = {}
    if override:
        options["override"] = override
    if configurable and root is not None:
        if not root.is_dir():
            raise CliError(f"config dir {root} ({source}) does not exist")
        options["config_root"] = root
    return options


async def _until_offline_or_signal(csc: BaseCsc, signalled: asyncio.Future[str]) -> str:
    """Wait for OFFLINE or SIGINT/SIGTERM; say which."""
    waits: list[asyncio.Future[Any]] = [csc.done, signalled]
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    return f"received {signalled.result()}" if signalled.done() else "went OFFLINE"
