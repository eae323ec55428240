"""The `dmcs` command: one typer app, one module per verb group."""

from __future__ import annotations

import typer

from dmcs.cli import (
    alerts,
    batch,
    broker,
    command,
    dashboards,
    demo,
    efd,
    night,
    registry,
    report,
    run,
    script,
    state,
    status,
    watch,
)
from dmcs.cli.errors import OneLineUsageGroup

app = typer.Typer(
    name="dmcs",
    help="Run and command the Data Management services of a survey telescope.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=OneLineUsageGroup,
)
app.command(name="broker")(broker.broker)
app.command(name="registry")(registry.registry)
app.command(name="run")(run.run)
app.command(name="state")(state.state)
app.command(name="command")(command.command)
app.command(name="watch")(watch.watch)
app.command(name="status")(status.status)
app.command(name="demo")(demo.demo)
app.add_typer(batch.app, name="batch", help="Submit and follow MPI batch jobs.")
app.add_typer(efd.app, name="efd",
              help="Query the EFD (InfluxDB) of the observatory, or feed it from Kafka.")
app.add_typer(script.app, name="script", help="Run OCS scripts.")
app.add_typer(dashboards.app, name="dashboards", help="Grafana dashboards for the DM services.")
app.add_typer(alerts.app, name="alerts",
              help="The alert stream as a broker sees it: watch, filter, replay.")
app.command(name="night")(night.night)
app.command(name="report")(report.report)
