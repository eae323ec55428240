"""Reading a finished job's traces the way an operator would: stream, results, processes."""

from __future__ import annotations

import json
from typing import Any

from dmcs.mpi.job_store import JobRecord
from dmcs.mpi.processes import pid_alive


def progress_events(record: JobRecord) -> list[dict[str, Any]]:
    path = record.job_dir / "progress.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def live_rank_pids(record: JobRecord) -> list[int]:
    """Ranks of the job still running (there should be none once it has ended)."""
    started = [e for e in progress_events(record) if e["event"] == "rank_started"]
    return [event["pid"] for event in started if pid_alive(event["pid"])]


def item_values(record: JobRecord) -> dict[str, str]:
    return {
        item: each.result["value"]
        for item, each in record.item_results.items()
        if each.result is not None
    }
