"""`dmcs dashboards`: export the Grafana dashboards and provisioning, or push them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dmcs.cli.errors import CliError, ExitCode, one_line_errors
from dmcs.dashboards.catalog import all_dashboards
from dmcs.dashboards.provisioning import export as export_files
from dmcs.dashboards.push import PushError
from dmcs.dashboards.push import push as push_dashboards
from dmcs.settings import settings

app = typer.Typer(no_args_is_help=True, help="Grafana dashboards for the DM services.")
TOKEN_ENV = "GRAFANA_TOKEN"

@app.command()
def export(
    directory: Annotated[Path, typer.Argument(help="Where to write provisioning, dashboards.")],
    influx_url: Annotated[str, typer.Option("--efd", envvar="DMCS_EFD_URL",
                                            help="InfluxDB URL for the EFD datasource.")
                          ] = "http://127.0.0.1:8086",
    prometheus_url: Annotated[str, typer.Option("--prometheus",
                                                help="Prometheus URL for its datasource.")
                              ] = "http://127.0.0.1:9090",
) -> None:
    """Write dashboard JSON and Grafana provisioning files (datasources, provider)."""
    with one_line_errors():
        if directory.exists() and not directory.is_dir():
            raise CliError(f"{directory} is not a directory")
        for path in export_files(directory, influx_url, prometheus_url):
            typer.echo(path)


@app.command()
def push(
    url: Annotated[str, typer.Option("--url", help="Grafana URL, e.g. https://grafana.site")],
    folder: Annotated[str | None, typer.Option("--folder", help="Grafana folder uid.")] = None,
) -> None:
    """Create or overwrite the dashboards in a Grafana (token from $GRAFANA_TOKEN)."""
    with one_line_errors():
        try:
            for pushed in push_dashboards(url, settings().grafana_token,
                                          all_dashboards(), folder):
                typer.echo(pushed)
        except PushError as err:
            raise CliError(str(err), ExitCode.ERROR) from None
