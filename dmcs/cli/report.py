"""`dmcs report`: one HTML page of a run's plots from the EFD and Prometheus."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dmcs.cli.errors import CliError, one_line_errors
from dmcs.settings import EFD_URL_ENV as DB_URL_ENV


def report(
    efd: Annotated[str | None, typer.Option(
        "--efd", metavar="URL", envvar=DB_URL_ENV, show_default=False,
        help=f"InfluxDB URL of the EFD. Default: ${DB_URL_ENV}.")] = None,
    prometheus: Annotated[str | None, typer.Option(
        "--prometheus", metavar="URL",
        help="Prometheus URL (its plots are left out without it).")] = None,
    start: Annotated[str | None, typer.Option(
        help="Start, ISO-8601 (UTC unless zoned).")] = None,
    end: Annotated[str | None, typer.Option(help="End, ISO-8601 (default: now).")] = None,
    last: Annotated[float | None, typer.Option(
        "--last", metavar="MINUTES", min=0.01,
        help="The last MINUTES instead of --start/--end (default: 60).")] = None,
    database: Annotated[str, typer.Option(
        "--db", help="InfluxDB database of the EFD.")] = "efd",
    out: Annotated[Path, typer.Option(
        "--out", metavar="PATH", dir_okay=False, help="HTML file to write.")
    ] = Path("dmcs-report.html"),
) -> None:
    """Write an HTML page with the run's service states, visit latency against the budget,
    archive backlog, alerts per visit and EFD writer lag (PNGs embedded: one file)."""
    with one_line_errors():
        if not efd:
            raise CliError(f"where is the EFD? give --efd URL or set ${DB_URL_ENV}")
        if last is not None and (start or end):
            raise CliError("give either --last or --start/--end, not both")
        if end and not start:
            raise CliError("--end needs --start")
        import pandas as pd  # with matplotlib below: only when drawing

        from dmcs.telemetry.efd_client import EfdError

        now = pd.Timestamp.now(tz="UTC")
        begin: str | pd.Timestamp = start or now - pd.Timedelta(minutes=last or 60)
        from dmcs.telemetry.report import write_report

        try:
            path = write_report(efd, prometheus, out, start=begin, end=end or now,
                                database=database)
        except EfdError as err:
            raise CliError(str(err)) from None
        typer.echo(path)
