"""The SQLite job store: every job's record, per-item results, and who to signal to stop it.

One file shared by the CLI, the supervisors and a CSC. Each call opens its own short
connection (WAL mode), so several processes and threads can use it at once without sharing
connection objects.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from dmcs import shared_sqlite
from dmcs.settings import settings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    pipeline TEXT NOT NULL,
    data_query TEXT NOT NULL,
    config TEXT NOT NULL,
    items TEXT NOT NULL,
    ranks INTEGER NOT NULL,
    launch TEXT NOT NULL,
    timeout_s REAL,
    retry_of TEXT REFERENCES jobs(job_id),
    job_dir TEXT NOT NULL,
    provenance TEXT NOT NULL,
    status TEXT NOT NULL,
    command TEXT,
    supervisor_pid INTEGER,
    mpi_pid INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER,
    error TEXT,
    summary TEXT,
    submitted_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL
);
CREATE TABLE IF NOT EXISTS item_results (
    job_id TEXT NOT NULL REFERENCES jobs(job_id),
    item TEXT NOT NULL,
    succeeded INTEGER NOT NULL,
    rank INTEGER NOT NULL,
    seconds REAL NOT NULL,
    result TEXT,
    error TEXT,
    traceback TEXT,
    PRIMARY KEY (job_id, item)
);
"""


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"

    @property
    def is_terminal(self) -> bool:
        return self not in (JobStatus.QUEUED, JobStatus.RUNNING)


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class UnknownJobError(LookupError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"unknown job id {job_id!r}")
        self.job_id = job_id


@dataclass(frozen=True)
class ItemResult:
    """One item's outcome as persisted when it arrived."""

    item: str
    succeeded: bool
    rank: int
    seconds: float
    result: dict[str, Any] | None
    error: str | None
    traceback: str | None

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> ItemResult:
        """From an `item_done` or `item_failed` progress event."""
        return cls(
            item=event["item"],
            succeeded=event["event"] == "item_done",
            rank=event["rank"],
            seconds=event["seconds"],
            result=event.get("result"),
            error=event.get("error"),
            traceback=event.get("traceback"),
        )


@dataclass(frozen=True)
class JobRequest:
    """What was asked for: the fields written once, when the job is created."""

    job_id: str
    pipeline: str
    data_query: str
    config: dict[str, Any]
    items: list[str]
    ranks: int
    launch: dict[str, Any]
    timeout_s: float | None
    retry_of: str | None
    provenance: dict[str, Any]
    submitted_at: float


@dataclass(frozen=True)
class JobRecord(JobRequest):
    """Everything known about one job: the request, then its state and outcome."""

    job_dir: Path
    status: JobStatus
    command: list[str] | None
    supervisor_pid: int | None
    mpi_pid: int | None
    cancel_requested: bool
    exit_code: int | None
    error: str | None
    summary: dict[str, Any] | None
    started_at: float | None
    ended_at: float | None
    item_results: dict[str, ItemResult] = field(default_factory=dict)

    @property
    def request(self) -> JobRequest:
        """The request alone, e.g. to ask for it again with changes (a retry)."""
        return JobRequest(**{each.name: getattr(self, each.name) for each in fields(JobRequest)})

    @property
    def failed_items(self) -> list[str]:
        return [item for item, each in self.item_results.items() if not each.succeeded]

    @property
    def unfinished_items(self) -> list[str]:
        """Items that have not succeeded: failed ones and ones a crash or cancel cut off."""
        return [
            item
            for item in self.items
            if item not in self.item_results or not self.item_results[item].succeeded
        ]

    @property
    def outputs(self) -> list[str]:
        return [
            path
            for each in self.item_results.values()
            if each.result is not None
            for path in each.result.get("outputs", [])
        ]


def default_store_path() -> Path:
    """$DMCS_JOB_STORE, else <DMCS home>/jobs.sqlite (see dmcs.settings)."""
    return settings().job_store


_JSON_COLUMNS = ("config", "items", "launch", "provenance", "command", "summary")


class JobStore:
    """Reads and writes job records; job directories live in `jobs/` beside the database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.jobs_root = path.parent / "jobs"
        shared_sqlite.create(path, _SCHEMA)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return shared_sqlite.connect(self.path, rows=True)

    def create(self, request: JobRequest) -> JobRecord:
        """Record a new job, queued, with its directory beside the store."""
        columns: dict[str, Any] = {
            **{each.name: getattr(request, each.name) for each in fields(JobRequest)},
            "job_dir": str(self.jobs_root / request.job_id),
            "status": JobStatus.QUEUED.value,
        }
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        values = [_to_column(name, value) for name, value in columns.items()]
        with self._connect() as connection:
            connection.execute(f"INSERT INTO jobs ({names}) VALUES ({marks})", values)
        return self.get(request.job_id)

    def get(self, job_id: str) -> JobRecord:
        with self._connect() as connection:
            row = connection.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            if row is None:
                raise UnknownJobError(job_id)
            item_rows = connection.execute(
                "SELECT * FROM item_results WHERE job_id = ? ORDER BY rowid", (job_id,)
            ).fetchall()
        return _job_from_row(row, item_rows)

    def list_jobs(self, limit: int = 50) -> list[JobRecord]:
        """Most recent first, without per-item results (a table needs only the counts)."""
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT * FROM jobs ORDER BY submitted_at DESC LIMIT ?", (limit,)
            ).fetchall()
        return [_job_from_row(row, []) for row in rows]

    def item_counts(self, job_id: str) -> tuple[int, int]:
        """(succeeded, failed) items recorded so far."""
        with self._connect() as connection:
            row = connection.execute(
                "SELECT COALESCE(SUM(succeeded), 0), COUNT(*) - COALESCE(SUM(succeeded), 0)"
                " FROM item_results WHERE job_id = ?",
                (job_id,),
            ).fetchone()
        return int(row[0]), int(row[1])

    def set_supervisor(self, job_id: str, pid: int) -> None:
        self._update(job_id, supervisor_pid=pid)

    def mark_running(self, job_id: str, command: list[str], mpi_pid: int, at: float) -> None:
        self._update(
            job_id,
            status=JobStatus.RUNNING.value,
            command=command,
            mpi_pid=mpi_pid,
            started_at=at,
        )

    def record_item(self, job_id: str, outcome: ItemResult) -> None:
        with self._connect() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO item_results"
                " (job_id, item, succeeded, rank, seconds, result, error, traceback)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    outcome.item,
                    int(outcome.succeeded),
                    outcome.rank,
                    outcome.seconds,
                    None if outcome.result is None else json.dumps(outcome.result),
                    outcome.error,
                    outcome.traceback,
                ),
            )

    def record_summary(self, job_id: str, summary: dict[str, Any]) -> None:
        self._update(job_id, summary=summary)

    def request_cancel(self, job_id: str) -> None:
        self.get(job_id)
        self._update(job_id, cancel_requested=1)

    def cancel_requested(self, job_id: str) -> bool:
        with self._connect() as connection:
            row = connection.execute(
                "SELECT cancel_requested FROM jobs WHERE job_id = ?", (job_id,)
            ).fetchone()
        return bool(row and row[0])

    def finish(
        self, job_id: str, status: JobStatus, exit_code: int | None, error: str | None, at: float
    ) -> bool:
        """Record the outcome unless another process already did; True if this call did."""
        with self._connect() as connection:
            cursor = connection.execute(
                "UPDATE jobs SET status = ?, exit_code = ?, error = ?, ended_at = ?"
                " WHERE job_id = ? AND status IN (?, ?)",
                (status.value, exit_code, error, at, job_id, *ACTIVE_STATUSES),
            )
        return cursor.rowcount == 1

    def _update(self, job_id: str, **columns: Any) -> None:
        assignments = ", ".join(f"{name} = ?" for name in columns)
        with self._connect() as connection:
            connection.execute(
                f"UPDATE jobs SET {assignments} WHERE job_id = ?",
                (*(_to_column(name, value) for name, value in columns.items()), job_id),
            )


def _to_column(name: str, value: Any) -> Any:
    return json.dumps(value) if name in _JSON_COLUMNS else value


def _job_from_row(row: sqlite3.Row, item_rows: list[sqlite3.Row]) -> JobRecord:
    values = dict(row)
    for column in _JSON_COLUMNS:
        if values[column] is not None:
            values[column] = json.loads(values[column])
    values["job_dir"] = Path(values["job_dir"])
    values["status"] = JobStatus(values["status"])
    values["cancel_requested"] = bool(values["cancel_requested"])
    item_results = {
        item_row["item"]: ItemResult(
            item=item_row["item"],
            succeeded=bool(item_row["succeeded"]),
            rank=item_row["rank"],
            seconds=item_row["seconds"],
            result=None if item_row["result"] is None else json.loads(item_row["result"]),
            error=item_row["error"],
            traceback=item_row["traceback"],
        )
        for item_row in item_rows
    }
    return JobRecord(**values, item_results=item_results)
