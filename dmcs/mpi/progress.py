"""The job's progress stream: JSON lines in the job directory, one event per line.

Rank 0 appends an event as each item starts, succeeds or fails, and the supervisor appends
the final `job_ended`. Lines are flushed as written, so a CSC, the CLI or the supervisor can
follow the file while the job runs, and results already written survive a crashed job.

Events (all carry `event` and `time`, a Unix timestamp):
  job_started   total, ranks, items
  rank_started  rank, host, pid            (before setup, so a dead rank can be named)
  item_started  item, rank
  item_done     item, rank, seconds, result, done, failed, total
  item_failed   item, rank, seconds, error, traceback, done, failed, total
  job_finished  summary, succeeded, failed, seconds   (rank 0, after finalize)
  job_error     error, traceback                       (setup or finalize failed)
  job_ended     status, exit_code, error               (supervisor; always the last line)
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JOB_ENDED = "job_ended"
ITEM_OUTCOME_EVENTS = ("item_done", "item_failed")
_POLL_INTERVAL_S = 0.1


class ProgressWriter:
    """Append-only writer: one `write` call per event, so a crash cannot tear a line."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if os.fstat(self._fd).st_size and not path.read_bytes().endswith(b"\n"):
            os.write(self._fd, b"\n")

    def emit(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, "time": time.time(), **fields}) + "\n"
        os.write(self._fd, line.encode())

    def close(self) -> None:
        os.close(self._fd)


class ProgressReader:
    """Incremental reader: each `read_new` returns the complete lines added since the last."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""

    def read_new(self) -> list[dict[str, Any]]:
        try:
            with self.path.open("rb") as stream:
                stream.seek(self._offset)
                chunk = stream.read()
        except FileNotFoundError:
            return []
        self._offset += len(chunk)
        *lines, self._partial = (self._partial + chunk).split(b"\n")
        return [event for line in lines if (event := _decode(line)) is not None]


def _decode(line: bytes) -> dict[str, Any] | None:
    """The event on a line; None for a blank line or one torn by a writer that crashed."""
    try:
        event: dict[str, Any] = json.loads(line)
    except ValueError:
        return None
    return event


def follow_progress(path: Path, poll_s: float = _POLL_INTERVAL_S) -> Iterator[dict[str, Any]]:
    """Yield events as they are written, ending after `job_ended`.

    Blocking, for scripts; asyncio code uses `JobManager.follow`, which also ends the
    stream of a job whose supervisor died.
    """
    reader = ProgressReader(path)
    while True:
        for event in reader.read_new():
            yield event
            if event["event"] == JOB_ENDED:
                return
        time.sleep(poll_s)


@dataclass
class ProgressTally:
    """Running state folded from events: what a progress bar, status line or supervisor needs."""

    total: int = 0
    succeeded: int = 0
    failed_items: list[str] = field(default_factory=list)
    running: dict[str, int] = field(default_factory=dict)
    item_seconds: dict[str, float] = field(default_factory=dict)
    ranks: dict[int, dict[str, Any]] = field(default_factory=dict)
    finished: dict[str, Any] | None = None
    job_error: dict[str, Any] | None = None
    ended: dict[str, Any] | None = None

    @property
    def failed(self) -> int:
        return len(self.failed_items)

    @property
    def done(self) -> int:
        return self.succeeded + self.failed

    @property
    def all_items_reported(self) -> bool:
        return self.total > 0 and self.done >= self.total

    def add(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "job_started":
            self.total = event["total"]
        elif kind == "rank_started":
            self.ranks[event["rank"]] = event
        elif kind == "item_started":
            self.running[event["item"]] = event["rank"]
        elif kind in ITEM_OUTCOME_EVENTS:
            self.running.pop(event["item"], None)
            self.item_seconds[event["item"]] = event["seconds"]
            if kind == "item_done":
                self.succeeded += 1
            else:
                self.failed_items.append(event["item"])
        elif kind == "job_finished":
            self.finished = event
        elif kind == "job_error":
            self.job_error = event
        elif kind == JOB_ENDED:
            self.ended = event
