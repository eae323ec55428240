"""Options shared by the verbs that talk to Kafka, parsed once here into a SalConfig."""

from __future__ import annotations

from typing import Annotated

import typer

from dmcs.cli.errors import CliError
from dmcs.sal.config import BROKER_ENV, REGISTRY_ENV, SUBNAME_ENV, SalConfig
from dmcs.sal.topics.remote_command import DEFAULT_COMMAND_TIMEOUT
from dmcs.settings import settings

BrokerOption = Annotated[
    str | None,
    typer.Option(
        "--broker",
        metavar="HOST:PORT",
        help=f"Kafka bootstrap servers. Default: ${BROKER_ENV}, else the embedded broker "
        "(started on demand).",
        show_default=False,
    ),
]
RegistryOption = Annotated[
    str | None,
    typer.Option(
        "--registry",
        metavar="URL",
        help=f"Schema registry. Default: ${REGISTRY_ENV}, else the one beside the embedded "
        "broker.",
        show_default=False,
    ),
]
SubnameOption = Annotated[
    str | None,
    typer.Option(
        "--subname",
        help=f"Topic subname (lsst.<subname>.*). Default: ${SUBNAME_ENV}, else 'sal'.",
        show_default=False,
    ),
]
CommandTimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout",
        min=0.1,
        help="Seconds to wait for each command's final ack (INPROGRESS acks extend it).",
    ),
]
DEFAULT_TIMEOUT = DEFAULT_COMMAND_TIMEOUT


def sal_config(broker: str | None, subname: str | None,
               registry: str | None = None) -> SalConfig:
    """Flags first, then the environment, then defaults."""
    try:
        return settings().sal(broker, subname, registry)
    except ValueError as err:
        raise CliError(str(err)) from None


def describe(config: SalConfig, bootstrap_servers: str) -> str:
    """Where we are connected, for banners: `127.0.0.1:19092 (subname sal)`."""
    return f"{bootstrap_servers} (subname {config.subname})"
