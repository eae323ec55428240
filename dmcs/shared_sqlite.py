"""SQLite files that several processes and threads use at once: the job store, prompt
processing's visit ledger, the simulated DAQ's index.

None of them keeps a connection: every call opens a short one of its own (so no connection is
shared between threads), and the file runs in WAL mode so readers do not wait on a writer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_S = 30.0


def create(path: Path, schema: str) -> None:
    """Make the file (and its folder) with `schema` in WAL mode; an existing one is kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(schema)


@contextmanager
def connect(path: Path, *, rows: bool = False) -> Iterator[sqlite3.Connection]:
    """A connection for one block: committed if the block succeeds, rolled back if it raises,
    closed either way (`rows`: results as `sqlite3.Row`, readable by column name)."""
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
    if rows:
        db.row_factory = sqlite3.Row
    try:
        with db:
            yield db
    finally:
        db.close()
