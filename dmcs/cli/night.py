"""`dmcs night`: run a whole simulated observing night, with no configuration needed."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from dmcs.cli.errors import CliError, ExitCode, one_line_errors
from dmcs.night.options import NightOptions
from dmcs.sal.broker import runtime_dir
from dmcs.sal.config import BROKER_ENV, DEFAULT_SUBNAME, REGISTRY_ENV, SUBNAME_ENV

if TYPE_CHECKING:
    from dmcs.night.report import NightReport

console = Console(highlight=False)


def night(
    visits: Annotated[int, typer.Option("--visits", min=0, help="Science visits.")] = 3,
    ccds: Annotated[int, typer.Option("--ccds", min=1, help="CCDs per image.")] = 2,
    ccd_size: Annotated[int, typer.Option("--ccd-size", help="CCD width in pixels "
                                          "(multiple of 16, 128-8192).")] = 256,
    cadence: Annotated[float, typer.Option("--cadence", metavar="SECONDS",
                                           help="Seconds between visit starts.")] = 20.0,
    root: Annotated[Path | None, typer.Option(
        "--root", metavar="DIR", file_okay=False,
        help="Archive, logs and outputs (default: a new folder under $DMCS_HOME/night).")] = None,
    report: Annotated[Path | None, typer.Option(
        "--report", metavar="PATH", dir_okay=False,
        help="Report JSON (default: <root>/night-report.json).")] = None,
    broker: Annotated[str | None, typer.Option(
        "--broker", metavar="HOST:PORT", envvar=BROKER_ENV, show_envvar=False,
        help=f"A real Kafka cluster (${BROKER_ENV}; default: a private broker, stopped at "
             "the end).")] = None,
    registry: Annotated[str | None, typer.Option(
        "--registry", metavar="URL", envvar=REGISTRY_ENV, show_envvar=False,
        help=f"Its schema registry (${REGISTRY_ENV}; default: one of the night's own, on the "
             "broker, stopped at the end).")] = None,
    subname: Annotated[str, typer.Option(
        "--subname", envvar=SUBNAME_ENV, show_envvar=False,
        help=f"Topic subname (${SUBNAME_ENV}).")] = DEFAULT_SUBNAME,
    brokers: Annotated[int, typer.Option(
        "--brokers", metavar="N", help="Nodes of the night's own Apache Kafka cluster (3: "
        "every topic replicated 3 times, 2 in sync for a write; the night reports what it saw "
        "of the cluster).")] = 1,
    secure: Annotated[bool, typer.Option(
        "--secure", help="SASL/SCRAM-SHA-512 on the night's own Kafka: a user per service, "
        "prefix ACLs, each CSC its own credentials.")] = False,
    efd: Annotated[str | None, typer.Option(
        "--efd", metavar="URL", help="InfluxDB for the EFD writer (default: a local one "
        "when influxd is installed).")] = None,
    local_efd: Annotated[bool, typer.Option(
        "--local-efd/--no-efd", help="Start a local InfluxDB and the EFD writer when no "
        "--efd is given.")] = True,
    live: Annotated[bool, typer.Option("--live/--no-live",
                                       help="Show the live table.")] = True,
) -> None:
    """Run a simulated night end to end: every CSC as its own process, dusk calibrations,
    N visits, the daytime OCPS jobs, then everything OFFLINE; print and write the report.

    Exits 0 only when every image and every visit is accounted for. Ctrl-C stops the night
    cleanly and still writes the report.
    """
    with one_line_errors():
        night_root = root or runtime_dir() / "night" / time.strftime("%Y%m%dT%H%M%S")
        try:
            options = NightOptions(root=night_root, visits=visits, ccds=ccds, ccd_size=ccd_size,
                                   cadence=cadence, broker=broker, registry=registry,
                                   subname=subname, brokers=brokers, secure=secure, efd=efd,
                                   local_efd=local_efd, report=report,
                                   live=live and console.is_terminal)
        except ValueError as err:
            raise CliError(str(err)) from None
        logging.basicConfig(level=logging.WARNING,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
        result = asyncio.run(_run(options))
    raise typer.Exit(int(ExitCode.OK) if result.accounted_for else
                     int(ExitCode.INTERRUPTED) if result.interrupted else int(ExitCode.ERROR))


async def _run(options: NightOptions) -> NightReport:
    from dmcs.night.orchestrator import Night  # the whole service stack: only for a night
    from dmcs.night.report import print_summary

    the_night = Night(options, console)
    the_night.step(f"night of {options.visits} visits x {options.ccds} CCDs "
                   f"({options.ccd_size} px) every {options.cadence:g} s; root {options.root}")
    report = await the_night.run(install_signal_handlers=True)
    report.write(options.report_path)
    print_summary(report, console, options.report_path)
    return report
