"""What the ranks need to know to run a job, handed to them as one JSON file.

The supervisor writes it into the job directory and the ranks read it, so a job's inputs are
on disk next to its progress stream and outputs, and the MPI command line stays short.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SPEC_FILE_NAME = "job.json"
PROGRESS_FILE_NAME = "progress.jsonl"
MPI_LOG_FILE_NAME = "mpi.log"


@dataclass(frozen=True)
class JobSpec:
    """One job as the ranks see it: which pipeline, which items, which config, where."""

    job_id: str
    pipeline: str
    config: dict[str, Any]
    items: list[str]
    job_dir: Path

    @property
    def output_dir(self) -> Path:
        return self.job_dir / "outputs"

    @property
    def progress_path(self) -> Path:
        return self.job_dir / PROGRESS_FILE_NAME

    @property
    def spec_path(self) -> Path:
        return self.job_dir / SPEC_FILE_NAME

    def write(self) -> Path:
        self.job_dir.mkdir(parents=True, exist_ok=True)
        data = {**asdict(self), "job_dir": str(self.job_dir)}
        self.spec_path.write_text(json.dumps(data, indent=2))
        return self.spec_path

    @classmethod
    def read(cls, path: Path) -> JobSpec:
        data = json.loads(path.read_text())
        return cls(
            job_id=data["job_id"],
            pipeline=data["pipeline"],
            config=data["config"],
            items=list(data["items"]),
            job_dir=Path(data["job_dir"]),
        )
