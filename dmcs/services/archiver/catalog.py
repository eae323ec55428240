"""The backbone catalog: one row per archived CCD file, with its metadata and provenance.

The primary key ``(obsid, raft, sensor)`` is what makes archiving exactly once: a CCD is
registered by one ``INSERT ... ON CONFLICT DO NOTHING``, so a second attempt (a restart, a
catch-up racing the live path) finds the row and never adds another.

URLs: ``sqlite:///relative/path.sqlite``, ``sqlite:////absolute/path.sqlite`` or a plain
path. Other schemes (``postgresql://``) are refused naming what is supported.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import astuple, dataclass, fields
from pathlib import Path

SUPPORTED = "sqlite:///<path> (or a plain file path)"
BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS raw (
    obsid TEXT NOT NULL,
    raft TEXT NOT NULL,
    sensor TEXT NOT NULL,
    instrument TEXT NOT NULL,
    dayobs TEXT NOT NULL,
    seqnum INTEGER NOT NULL,
    image_type TEXT NOT NULL,
    group_id TEXT NOT NULL,
    visit INTEGER NOT NULL,
    snap INTEGER NOT NULL,
    exposure_time DOUBLE PRECISION NOT NULL,
    date_obs DOUBLE PRECISION NOT NULL,
    path TEXT NOT NULL,
    byte_size BIGINT NOT NULL,
    md5 TEXT NOT NULL,
    daq_md5 TEXT NOT NULL,
    header_url TEXT NOT NULL,
    header_md5 TEXT NOT NULL,
    archiver TEXT NOT NULL,
    archiver_version TEXT NOT NULL,
    archived_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (obsid, raft, sensor)
);
CREATE INDEX IF NOT EXISTS raw_group ON raw (group_id);
"""


@dataclass(frozen=True)
class RawRecord:
    """One archived CCD file: what it is, where it is, and where it came from.

    Provenance: ``daq_md5`` (the DAQ file it was made from), ``header_url``/``header_md5``
    (the header service's file; empty if archived without one), ``archiver`` (identity and
    host) and ``archiver_version``. Times are TAI unix seconds.
    """

    obsid: str
    raft: str
    sensor: str
    instrument: str
    dayobs: str
    seqnum: int
    image_type: str
    group_id: str
    visit: int
    snap: int
    exposure_time: float
    date_obs: float
    path: str
    byte_size: int
    md5: str
    daq_md5: str
    header_url: str
    header_md5: str
    archiver: str
    archiver_version: str
    archived_at: float


COLUMNS = tuple(f.name for f in fields(RawRecord))


def sqlite_path(url: str) -> Path:
    """The database file of a catalog URL; ValueError naming what is supported."""
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///"))
    if "://" in url or not url:
        raise ValueError(f"catalog URL {url!r} is not supported; use {SUPPORTED}")
    return Path(url)


class Catalog:
    """The ``raw`` table of archived files (SQLite; any number of processes)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = sqlite_path(url)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        try:
            with db:
                yield db
        finally:
            db.close()

    def register(self, record: RawRecord) -> bool:
        """Add one file's row; False if that CCD was registered already (nothing changes)."""
        placeholders = ", ".join("?" for _ in COLUMNS)
        with self._db() as db:
            cursor = db.execute(
                f"INSERT INTO raw ({', '.join(COLUMNS)}) VALUES ({placeholders})"
                " ON CONFLICT (obsid, raft, sensor) DO NOTHING",
                astuple(record),
            )
            return cursor.rowcount == 1

    def get(self, obsid: str, raft: str, sensor: str) -> RawRecord | None:
        with self._db() as db:
            row = db.execute(
                f"SELECT {', '.join(COLUMNS)} FROM raw WHERE obsid = ? AND raft = ? AND sensor = ?",
                (obsid, raft, sensor),
            ).fetchone()
        return RawRecord(*row) if row else None

    def records(self) -> list[RawRecord]:
        with self._db() as db:
            rows = db.execute(
                f"SELECT {', '.join(COLUMNS)} FROM raw ORDER BY date_obs, obsid, raft, sensor"
            ).fetchall()
        return [RawRecord(*row) for row in rows]

    def count(self) -> int:
        with self._db() as db:
            return int(db.execute("SELECT count(*) FROM raw").fetchone()[0])
