"""`dmcs registry`: the schema registry, in the foreground, against the configured broker.

The Confluent REST API clients call (confluent-kafka, Telegraf, Kafka Connect,
lsst-efd-client), stored in the compacted `_schemas` topic of the broker, so a restarted
registry, or two on one cluster, give the same ids. At a site, point dmcs at the site's own
registry instead (``LSST_SCHEMA_REGISTRY_URL``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Annotated

import typer
from rich.console import Console

from dmcs.cli.errors import CliError, ExitCode, one_line_errors
from dmcs.cli.options import BrokerOption, sal_config
from dmcs.sal.broker import BrokerError, ensure_embedded_broker
from dmcs.sal.config import SalConfig
from dmcs.sal.registry.log import LogError
from dmcs.sal.registry.service import serve

console = Console(highlight=False)


def registry(
    port: Annotated[int, typer.Option("--port", min=1, max=65535,
                                      help="Port to serve on.")] = 8081,
    host: Annotated[str, typer.Option("--host", help="Address to serve on.")] = "127.0.0.1",
    broker: BrokerOption = None,
) -> None:
    """Serve the schema registry until Ctrl-C or SIGTERM (registrations kept on the broker)."""
    with one_line_errors():
        config = sal_config(broker, None)
        servers = config.bootstrap_servers
        if not servers:
            try:
                servers = ensure_embedded_broker().bootstrap_servers
            except BrokerError as err:
                raise CliError(str(err), ExitCode.BROKER) from None
        logging.basicConfig(level=logging.WARNING,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("dmcs.sal.registry").setLevel(logging.INFO)
        try:
            asyncio.run(_serve(servers, host, port, config))
        except OSError as err:
            raise CliError(f"cannot serve on {host}:{port}: {err.strerror}") from None
        except LogError as err:
            raise CliError(str(err), ExitCode.BROKER) from None


async def _serve(servers: str, host: str, port: int, config: SalConfig) -> None:
    task = asyncio.ensure_future(serve(
        servers, host, port, security=config.security,
        replication_factor=config.replication_factor,
        ready=lambda url: console.print(f"schema registry at {url}, stored on {servers}")))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task
