"""The `dmcs` command: one typer app, one module per verb group."""

from __future__ import annotations

import typer

from dmcs.cli import batch

app = typer.Typer(
    name="dmcs",
    help="Run and command the Data Management services of a survey telescope.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(batch.app, name="batch", help="Submit and follow MPI batch jobs.")
