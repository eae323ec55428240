"""`dmcs efd`: list topics and fields of the EFD, query its time series, list named EFDs,
and `write`: copy Kafka into it (alone, or as one of a consumer group of writers).

A thin adapter over `dmcs.telemetry.efd_client.EfdClient` and
`dmcs.telemetry.efd_writer.EfdWriter`; a bad topic, field, time range or EFD name is one line
naming it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from dmcs.cli.errors import CliError, ExitCode, one_line_errors
from dmcs.cli.options import BrokerOption, RegistryOption, SubnameOption, sal_config
from dmcs.cli.session import connect, run_async, stop_signals
from dmcs.sal.config import SalConfig
from dmcs.settings import EFD_URL_ENV as DB_URL_ENV
from dmcs.settings import settings

if TYPE_CHECKING:
    import pandas as pd

    from dmcs.telemetry.efd_client import EfdClient

app = typer.Typer(no_args_is_help=True,
                  help="Query the EFD (InfluxDB) of the observatory, or feed it from Kafka.")
T = TypeVar("T")

EfdOption = Annotated[
    str | None,
    typer.Option("--efd", metavar="URL|NAME", envvar=DB_URL_ENV, show_default=False,
                 help=f"InfluxDB URL of the EFD, e.g. http://127.0.0.1:8086, or a name from "
                 f"`dmcs efd names`. Default: ${DB_URL_ENV}."),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option("--db", show_default=False,
                 help="InfluxDB database of the EFD. Default: the named EFD's, else efd."),
]


def _run(url: str | None, db: str | None, body: Any) -> Any:
    """Run `body(client)` with one-line errors for a missing URL, bad input, InfluxDB down."""
    if not url:
        raise CliError(f"where is the EFD? give --efd URL|NAME or set ${DB_URL_ENV}")
    # pandas and aiohttp load only for the verbs that need them, not for every `dmcs` command
    from dmcs.telemetry.efd_client import EfdClient, EfdError
    from dmcs.telemetry.influx_http import InfluxError

    async def main() -> Any:
        async with EfdClient(url, db, names_file=settings().efd_names_file) as client:
            coro: Coroutine[Any, Any, Any] = body(client)
            return await coro

    try:
        return asyncio.run(main())
    except EfdError as err:
        raise CliError(str(err)) from None
    except InfluxError as err:
        raise CliError(f"EFD at {url}: {err}", ExitCode.ERROR) from None


@app.command()
def topics(efd: EfdOption = None, db: DatabaseOption = None) -> None:
    """List every topic in the EFD."""
    with one_line_errors():
        for name in _run(efd, db, lambda c: c.get_topics()):
            typer.echo(name)


@app.command()
def fields(
    topic: Annotated[str, typer.Argument(help="Full topic name, e.g. lsst.sal.Test.scalars.")],
    efd: EfdOption = None, db: DatabaseOption = None,
) -> None:
    """List the fields of one topic."""
    with one_line_errors():
        for name in _run(efd, db, lambda c: c.get_fields(topic)):
            typer.echo(name)


@app.command()
def query(
    topic: Annotated[str, typer.Argument(help="Full topic name, e.g. lsst.sal.Test.scalars.")],
    fields: Annotated[
        list[str] | None,
        typer.Option("--fields", "-f", help="Fields to show (repeat, or comma-separated). "
                     "Default: all but the private_ ones."),
    ] = None,
    start: Annotated[str | None, typer.Option(help="Start, ISO-8601 (UTC unless zoned).")] = None,
    end: Annotated[str | None, typer.Option(help="End, ISO-8601 (default: now).")] = None,
    last: Annotated[int | None, typer.Option(
        help="The latest N rows (0: all) instead of a range.")] = None,
    index: Annotated[int | None, typer.Option(help="Only this salIndex.")] = None,
    csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
    efd: EfdOption = None, db: DatabaseOption = None,
) -> None:
    """Print a topic's time series: a time range, or the latest N rows (default: last 10)."""
    with one_line_errors():
        if last is not None and (start or end):
            raise CliError("give either --last or --start/--end, not both")
        names = [n.strip() for f in fields or [] for n in f.split(",") if n.strip()]
        import pandas as pd

        from dmcs.telemetry.efd_client import EfdError

        async def body(client: EfdClient) -> pd.DataFrame:
            wanted = names or [f for f in await client.get_fields(topic)
                               if not f.startswith("private_")]
            if start is None and end is None:
                newest = await client.select_top_n(topic, wanted, 10 if last is None else last,
                                                   index=index)
                return newest.sort_index()
            if start is None:
                raise EfdError("--end needs --start")
            return await client.select_time_series(
                topic, wanted, start, end or pd.Timestamp.now(tz="UTC"), index=index)

        frame: pd.DataFrame = _run(efd, db, body)
        if csv:
            typer.echo(frame.to_csv(index_label="time"), nl=False)
        elif frame.empty:
            typer.echo(f"no rows of {topic} in that range")
        else:
            with pd.option_context("display.max_rows", None, "display.max_columns", None,
                                   "display.width", 250):
                typer.echo(frame.to_string())


@app.command()
def names() -> None:
    """List the named EFDs (`--efd NAME`): name, InfluxDB URL, database, schema registry."""
    from dmcs.telemetry.efd_names import read_efd_names
    from dmcs.telemetry.efd_query import EfdError

    path = settings().efd_names_file
    with one_line_errors():
        try:
            named = read_efd_names(path)
        except EfdError as err:
            raise CliError(str(err)) from None
        if not named:
            typer.echo(f"no named EFDs in {path}", err=True)
        for name in sorted(named):
            where = named[name]
            typer.echo(f"{name}\t{where.url}\t{where.database}\t{where.schema_registry or '-'}")


@app.command()
def write(
    group: Annotated[str | None, typer.Option(
        "--group", metavar="GROUP",
        help="Share the topics with the other writers of this Kafka consumer group (each "
        "topic is written by one of them; a writer that dies is replaced by the others). "
        "Default: read every topic alone.")] = None,
    efd: EfdOption = None, db: DatabaseOption = None,
    broker: BrokerOption = None, registry: RegistryOption = None, subname: SubnameOption = None,
) -> None:
    """Copy every lsst.<subname>.* topic into the EFD until SIGINT/SIGTERM (at least once:
    offsets are committed after InfluxDB took the points)."""
    with one_line_errors():
        if not efd:
            raise CliError(f"where is the EFD? give --efd URL|NAME or set ${DB_URL_ENV}")
        from dmcs.telemetry.efd_names import resolve_efd
        from dmcs.telemetry.efd_query import EfdError

        try:
            where = resolve_efd(efd, settings().efd_names_file)
        except EfdError as err:
            raise CliError(str(err)) from None
        config = sal_config(broker, subname, registry)
        run_async(_write(config, where.url, db or where.database, group or ""), logging.INFO)


async def _write(config: SalConfig, url: str, database: str, group: str) -> None:
    from dmcs.telemetry.efd_writer import EfdWriter, EfdWriterSettings, group_settings
    from dmcs.telemetry.influx_http import InfluxHttp

    async with connect(config) as domain:
        stop = stop_signals()
        writer = EfdWriter(domain.bootstrap_servers, domain.subname, InfluxHttp(url, database),
                           domain.registry_url,
                           EfdWriterSettings(fetch_max_wait_ms=domain.profile.bulk_wait_ms,
                                             fetch_min_bytes=domain.profile.bulk_min_bytes,
                                             **group_settings(group)),
                           domain.config.security)
        await writer.start()
        member = f" in consumer group {group}" if group else ""
        typer.echo(f"writing lsst.{domain.subname}.* from {domain.bootstrap_servers} to {url} "
                   f"database {database}{member}, pid {os.getpid()}; Ctrl-C stops it")
        try:
            await stop
        finally:
            await writer.stop()
            await writer.influx.close()
        typer.echo(f"EFD writer stopped: received {stop.result()}, "
                   f"{writer.health.points_written} points written")
