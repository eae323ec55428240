"""The shape a batch payload must have to run under the MPI job machinery.

Payloads match it structurally (no import needed), so the science code and the MPI code
evolve apart and a test pipeline is interchangeable with a real one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class Pipeline(Protocol):
    """A batch payload: plans work items from a data query and processes them one by one."""

    name: str
    summary: str
    """One line: what a job of this pipeline makes (shown by `dmcs batch pipelines`)."""
    data_query_help: str
    """The data queries it plans from, with an example and what an empty query means."""

    def __init__(self, config: dict[str, Any], output_dir: Path) -> None:
        """Validate the config; raise ValueError naming a bad field."""

    def plan(self, data_query: str) -> list[str]:
        """Turn a data query into work-item ids; raise ValueError on a bad query."""
        ...

    def setup(self) -> None:
        """Prepare a rank once before its first item (e.g. preload calibrations)."""

    def run_item(self, item: str) -> dict[str, Any]:
        """Process one item; return a JSON-serialisable result with an "outputs" list."""
        ...

    def finalize(self, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """Summarise the successful items' results on rank 0 once all items are done."""
        ...
