"""`dmcs batch`: operator batch submission (owned by the MPI work; placeholder until it lands)."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)
