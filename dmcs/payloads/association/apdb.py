"""The Alert Production Database: DIAObjects and their DIASource history, in SQLite.

Opened from a URL (``sqlite:///relative.db``, ``sqlite:////absolute.db``). Several processes
may write: the database runs in WAL mode with a busy timeout, and every association is one
``BEGIN IMMEDIATE`` transaction, so read-match-write cannot interleave between writers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

SUPPORTED_SCHEMES = ("sqlite",)
BUSY_TIMEOUT_MS = 60_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS DiaObject (
    diaObjectId INTEGER PRIMARY KEY,
    ra REAL NOT NULL,
    dec REAL NOT NULL,
    nDiaSources INTEGER NOT NULL,
    firstVisit INTEGER NOT NULL,
    lastVisit INTEGER NOT NULL,
    validityStartMjdTai REAL NOT NULL,
    firstDiaSourceMjdTai REAL NOT NULL,
    lastDiaSourceMjdTai REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS DiaObject_dec ON DiaObject (dec);
CREATE TABLE IF NOT EXISTS DiaSource (
    diaSourceId INTEGER PRIMARY KEY,
    diaObjectId INTEGER NOT NULL REFERENCES DiaObject (diaObjectId),
    visit INTEGER NOT NULL,
    detector INTEGER NOT NULL,
    ra REAL NOT NULL,
    dec REAL NOT NULL,
    psfFlux REAL NOT NULL,
    psfFluxErr REAL NOT NULL,
    snr REAL NOT NULL,
    isNegative INTEGER NOT NULL,
    x REAL NOT NULL,
    y REAL NOT NULL,
    midpointMjdTai REAL NOT NULL,
    timeProcessedMjdTai REAL NOT NULL,
    psfNdata INTEGER NOT NULL,
    bboxSize INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS DiaSource_object ON DiaSource (diaObjectId, visit);
"""

OBJECT_COLUMNS = (
    "diaObjectId",
    "ra",
    "dec",
    "nDiaSources",
    "firstVisit",
    "lastVisit",
    "validityStartMjdTai",
    "firstDiaSourceMjdTai",
    "lastDiaSourceMjdTai",
)
SOURCE_COLUMNS = (
    "diaSourceId",
    "diaObjectId",
    "visit",
    "detector",
    "ra",
    "dec",
    "psfFlux",
    "psfFluxErr",
    "snr",
    "isNegative",
    "x",
    "y",
    "midpointMjdTai",
    "timeProcessedMjdTai",
    "psfNdata",
    "bboxSize",
)


def parse_apdb_url(url: str) -> str:
    """The SQLite database path named by ``url``; ValueError for anything else."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise ValueError(f"APDB URL {url!r} is not a URL: expected sqlite:///path/to/apdb.sqlite3")
    if scheme not in SUPPORTED_SCHEMES:
        raise ValueError(
            f"unsupported APDB URL scheme {scheme!r} in {url!r}: "
            f"supported schemes are {', '.join(SUPPORTED_SCHEMES)}"
        )
    if not rest.startswith("/") or len(rest) < 2:
        raise ValueError(
            f"APDB URL {url!r} names no database file: expected sqlite:///path/to/apdb.sqlite3"
        )
    return rest[1:]


class Apdb:
    """A connection to the APDB; use ``transaction()`` around any read-modify-write."""

    def __init__(self, url: str) -> None:
        path = parse_apdb_url(url)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
        )
        self.connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self.connection.execute("PRAGMA journal_mode = WAL")
        self.connection.executescript(SCHEMA)

    def close(self) -> None:
        self.connection.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def objects_in(
        self, ra_min: float, ra_max: float, dec_min: float, dec_max: float
    ) -> np.ndarray:
        rows = self.connection.execute(
            f"SELECT {', '.join(OBJECT_COLUMNS)} FROM DiaObject "
            "WHERE dec BETWEEN ? AND ? AND ra BETWEEN ? AND ? ORDER BY diaObjectId",
            (dec_min, dec_max, ra_min, ra_max),
        ).fetchall()
        return np.array(rows, dtype=OBJECT_DTYPE) if rows else np.zeros(0, dtype=OBJECT_DTYPE)

    def next_object_id(self) -> int:
        (largest,) = self.connection.execute("SELECT MAX(diaObjectId) FROM DiaObject").fetchone()
        return 1 if largest is None else int(largest) + 1

    def known_source_ids(self, ids: np.ndarray) -> set[int]:
        known: set[int] = set()
        values = [int(i) for i in ids]
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            placeholders = ", ".join("?" * len(chunk))
            query = f"SELECT diaSourceId FROM DiaSource WHERE diaSourceId IN ({placeholders})"
            known.update(row[0] for row in self.connection.execute(query, chunk))
        return known

    def upsert_objects(self, objects: np.ndarray) -> None:
        self.connection.executemany(
            f"INSERT OR REPLACE INTO DiaObject ({', '.join(OBJECT_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(OBJECT_COLUMNS))})",
            [tuple(row.item()) for row in objects],
        )

    def insert_sources(self, rows: list[tuple[int | float, ...]]) -> None:
        """Rows of SOURCE_COLUMNS, in that order."""
        self.connection.executemany(
            f"INSERT INTO DiaSource ({', '.join(SOURCE_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(SOURCE_COLUMNS))})",
            rows,
        )

    def object(self, object_id: int) -> dict[str, int | float]:
        row = self.connection.execute(
            f"SELECT {', '.join(OBJECT_COLUMNS)} FROM DiaObject WHERE diaObjectId = ?", (object_id,)
        ).fetchone()
        return dict(zip(OBJECT_COLUMNS, row, strict=True))

    def history(
        self, object_id: int, before_visit: int, limit: int
    ) -> list[dict[str, int | float]]:
        """The object's most recent DIASources from visits before ``before_visit``, oldest first."""
        rows = self.connection.execute(
            f"SELECT {', '.join(SOURCE_COLUMNS)} FROM DiaSource "
            "WHERE diaObjectId = ? AND visit < ? "
            "ORDER BY visit DESC, diaSourceId DESC LIMIT ?",
            (object_id, before_visit, limit),
        ).fetchall()
        return [dict(zip(SOURCE_COLUMNS, row, strict=True)) for row in reversed(rows)]

    def count(self, table: str) -> int:
        if table not in ("DiaObject", "DiaSource"):
            raise ValueError(f"no APDB table {table!r}")
        (total,) = self.connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
        return int(total)


OBJECT_DTYPE = np.dtype(
    [
        ("diaObjectId", "i8"),
        ("ra", "f8"),
        ("dec", "f8"),
        ("nDiaSources", "i8"),
        ("firstVisit", "i8"),
        ("lastVisit", "i8"),
        ("validityStartMjdTai", "f8"),
        ("firstDiaSourceMjdTai", "f8"),
        ("lastDiaSourceMjdTai", "f8"),
    ]
)
