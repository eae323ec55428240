"""`dmcs batch`: submit, follow, cancel and retry MPI batch jobs from a terminal.

A thin adapter over `dmcs.mpi.jobs.JobManager`: argument parsing, rich rendering and one-line
errors live here; all job behaviour lives in dmcs.mpi.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import yaml
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from dmcs.cli.errors import CliError, ExitCode, fail, one_line_errors
from dmcs.mpi.job_store import JobRecord, JobStatus, UnknownJobError
from dmcs.mpi.jobs import JobManager, JobRequestError
from dmcs.mpi.launch_command import Launcher, LaunchSettings
from dmcs.mpi.progress import ProgressTally
from dmcs.mpi.registry import UnknownPipelineError, known_pipelines
from dmcs.settings import JOB_STORE_ENV

app = typer.Typer(no_args_is_help=True, help="Submit and follow MPI batch jobs.")
console = Console()

StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        envvar=JOB_STORE_ENV,
        help="Job store (SQLite). Default: $DMCS_HOME/jobs.sqlite or ~/.local/share/dmcs.",
    ),
]
DetachOption = Annotated[
    bool, typer.Option("--detach", "-d", help="Return at once; follow with `dmcs batch status`.")
]
_STATUS_STYLES = {
    JobStatus.QUEUED: "cyan",
    JobStatus.RUNNING: "blue",
    JobStatus.SUCCEEDED: "green",
    JobStatus.FAILED: "red",
    JobStatus.CANCELLED: "yellow",
    JobStatus.TIMEOUT: "magenta",
}


@app.command()
def submit(
    pipeline: Annotated[str, typer.Argument(help="Pipeline name (see `dmcs batch pipelines`).")],
    ranks: Annotated[int, typer.Option("--ranks", "-n", help="MPI ranks (all of them work).")] = 1,
    data_query: Annotated[
        str, typer.Option("--data-query", "-q", help="Selects the work items.")
    ] = "",
    config: Annotated[
        list[str] | None,
        typer.Option("--config", "-c", help="A YAML file or key=value (YAML value); repeatable."),
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Cancel the job after this many seconds.")
    ] = None,
    launcher: Annotated[
        Launcher, typer.Option("--launcher", help="How to start ranks.")
    ] = Launcher.MPIEXEC,
    hostfile: Annotated[
        Path | None, typer.Option("--hostfile", help="Hosts for the hostfile launcher.")
    ] = None,
    detach: DetachOption = False,
    store: StoreOption = None,
) -> None:
    """Plan and launch a job; shows a live progress bar unless --detach."""
    manager, job_id = _launched(
        store,
        lambda manager: manager.submit(
            pipeline,
            data_query=data_query,
            config=_parse_config(config or []),
            ranks=ranks,
            timeout_s=timeout,
            launch=LaunchSettings(launcher=launcher, hostfile=str(hostfile) if hostfile else None),
        ),
    )
    _after_launch(manager, job_id, detach)


@app.command()
def retry(
    job_id: Annotated[str, typer.Argument(help="The job whose failed items to run again.")],
    ranks: Annotated[
        int | None, typer.Option("--ranks", "-n", help="Ranks (default: as the original).")
    ] = None,
    detach: DetachOption = False,
    store: StoreOption = None,
) -> None:
    """Run only the failed or unfinished items of a job, as a new job linked to it."""
    manager, new_job_id = _launched(store, lambda manager: manager.retry(job_id, ranks=ranks))
    console.print(f"job {new_job_id} retries {job_id}")
    _after_launch(manager, new_job_id, detach)


@app.command()
def cancel(
    job_id: Annotated[str, typer.Argument(help="The job to stop.")],
    store: StoreOption = None,
) -> None:
    """Stop a queued or running job (from any terminal); its finished items are kept."""
    manager = JobManager(store)
    with _one_line_errors():
        already_ended = manager.get(job_id).status.is_terminal
        record = asyncio.run(manager.cancel(job_id))
    prefix = "had already ended" if already_ended else "is now"
    console.print(f"job {job_id} {prefix} {_styled_status(record.status)}")


@app.command()
def status(
    job_id: Annotated[str | None, typer.Argument(help="Show this job in detail.")] = None,
    tracebacks: Annotated[
        bool, typer.Option("--tracebacks", help="Print failed items' tracebacks.")
    ] = False,
    store: StoreOption = None,
) -> None:
    """One job in detail, or a table of recent jobs."""
    manager = JobManager(store)
    if job_id is None:
        _print_job_table(manager)
        return
    with _one_line_errors():
        record = manager.get(job_id)
    _print_job_detail(record, tracebacks)


@app.command(name="list")
def list_jobs(
    limit: Annotated[int, typer.Option("--limit", help="How many recent jobs.")] = 20,
    store: StoreOption = None,
) -> None:
    """A table of recent jobs, newest first."""
    _print_job_table(JobManager(store), limit)


@app.command()
def pipelines() -> None:
    """The pipelines a job can run: what each makes and the data queries it takes."""
    table = Table()
    for heading in ("pipeline", "makes", "data query (--data-query)"):
        table.add_column(heading)
    for name, pipeline in known_pipelines().items():
        table.add_row(name, pipeline.summary, pipeline.data_query_help)
    console.print(table)


def _launched(
    store: Path | None, launch: Callable[[JobManager], Coroutine[Any, Any, str]]
) -> tuple[JobManager, str]:
    """The manager of `store` and the id of the job `launch` started on it."""
    manager = JobManager(store)
    with _one_line_errors():
        return manager, asyncio.run(launch(manager))


def _after_launch(manager: JobManager, job_id: str, detach: bool) -> None:
    if detach:
        console.print(f"job {job_id} submitted")
        return
    try:
        record = asyncio.run(_follow_with_progress_bar(manager, job_id))
    except KeyboardInterrupt:
        record = asyncio.run(manager.cancel(job_id))
    _print_outcome(record)
    if record.status is not JobStatus.SUCCEEDED:
        raise typer.Exit(1)


async def _follow_with_progress_bar(manager: JobManager, job_id: str) -> JobRecord:
    tally = ProgressTally()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failures]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(f"job {job_id}", total=None, failures="")
        async for event in manager.follow(job_id):
            tally.add(event)
            failures = f"[red]{tally.failed} failed" if tally.failed else ""
            progress.update(
                task, total=tally.total or None, completed=tally.done, failures=failures
            )
    return await manager.wait(job_id)


def _print_outcome(record: JobRecord) -> None:
    done = len(record.item_results)
    elapsed = _duration(record)
    console.print(
        f"job {record.job_id} {_styled_status(record.status)}:"
        f" {done - len(record.failed_items)}/{len(record.items)} items succeeded in {elapsed}"
    )
    for item in record.failed_items:
        console.print(f"  [red]failed[/] {item}: {record.item_results[item].error}")
    if record.error and record.summary is None:
        console.print(f"  {record.error}")
    if record.unfinished_items and record.status.is_terminal:
        console.print(f"  retry with: dmcs batch retry {record.job_id}")


def _print_job_table(manager: JobManager, limit: int = 20) -> None:
    table = Table()
    table.add_column("job", no_wrap=True)
    for heading in ("pipeline", "status", "items", "submitted", "took"):
        table.add_column(heading)
    for listed in manager.list_jobs(limit):
        record = manager.get(listed.job_id) if not listed.status.is_terminal else listed
        succeeded, failed = manager.store.item_counts(record.job_id)
        items = f"{succeeded + failed}/{len(record.items)}"
        table.add_row(
            record.job_id,
            record.pipeline,
            _styled_status(record.status),
            f"{items} [red]{failed} failed[/]" if failed else items,
            time.strftime("%m-%d %H:%M:%S", time.localtime(record.submitted_at)),
            _duration(record),
        )
    console.print(table)


def _print_job_detail(record: JobRecord, tracebacks: bool) -> None:
    table = Table.grid(padding=(0, 2))
    rows: list[tuple[str, Any]] = [
        ("job", record.job_id),
        ("status", _styled_status(record.status)),
        ("pipeline", record.pipeline),
        ("data query", record.data_query or "-"),
        ("config", record.config or "-"),
        ("items", f"{len(record.item_results)}/{len(record.items)} done"),
        ("failed", ", ".join(record.failed_items) or "-"),
        ("ranks", record.ranks),
        ("retry of", record.retry_of or "-"),
        ("exit code", "-" if record.exit_code is None else record.exit_code),
        ("error", record.error or "-"),
        ("took", _duration(record)),
        ("outputs", f"{len(record.outputs)} files"),
        ("summary", record.summary or "-"),
        ("job dir", record.job_dir),
        ("command", " ".join(record.command or []) or "-"),
        ("provenance", record.provenance),
    ]
    for name, value in rows:
        table.add_row(f"[bold]{name}", str(value) if not isinstance(value, str) else value)
    console.print(table)
    for item in record.failed_items:
        result = record.item_results[item]
        console.print(f"[red]failed[/] {item} on rank {result.rank}: {result.error}")
        if tracebacks and result.traceback:
            console.print(result.traceback, markup=False, highlight=False)


def _duration(record: JobRecord) -> str:
    if record.started_at is None:
        return "-"
    end = record.ended_at or time.time()
    return f"{end - record.started_at:.1f} s"


def _styled_status(status: JobStatus) -> str:
    return f"[{_STATUS_STYLES[status]}]{status.value}[/]"


def _parse_config(entries: list[str]) -> dict[str, Any]:
    """Merge YAML files and key=value pairs, later entries winning."""
    config: dict[str, Any] = {}
    for entry in entries:
        if "=" in entry:
            key, _, value = entry.partition("=")
            config[key.strip()] = yaml.safe_load(value) if value else ""
            continue
        path = Path(entry)
        if not path.is_file():
            _fail(f"config {entry!r} is neither key=value nor a YAML file")
        loaded = yaml.safe_load(path.read_text())
        if not isinstance(loaded, dict):
            _fail(f"config file {entry} must hold a mapping of fields")
        config.update(loaded)
    return config


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """Turn the errors an operator can cause into one line and exit code 2, no traceback."""
    with one_line_errors():
        try:
            yield
        except (UnknownPipelineError, UnknownJobError, JobRequestError, ValueError) as error:
            raise CliError(str(error), ExitCode.USAGE) from None


def _fail(message: str) -> NoReturn:
    fail(message, ExitCode.USAGE)
