"""The backbone catalog: one row per archived CCD file, with its metadata and provenance.

The primary key ``(obsid, raft, sensor)`` is what makes archiving exactly once: a CCD is
registered by one ``INSERT ... ON CONFLICT DO NOTHING``, so a second attempt (a restart, a
catch-up racing the live path) finds the row and never adds another.

URLs: ``sqlite:///relative/path.sqlite``, ``sqlite:////absolute/path.sqlite`` or a plain
path (the default: nothing to run), or ``postgresql://user[:password]@host[:port]/dbname``
(also ``postgres://``; any libpq URI parameter) for a catalog many hosts share. Both speak
the same SQL; a :class:`_Backend` holds the little that differs. Every call opens its own
connection and transaction, so any number of threads and processes may share a catalog.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

SUPPORTED = (
    "sqlite:///<path> (or a plain file path) or postgresql://user@host:port/dbname"
    " (or postgres://)"
)
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
BUSY_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 10

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS raw (
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
)""",
    "CREATE INDEX IF NOT EXISTS raw_group ON raw (group_id)",
)


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


class CatalogUnreachable(ConnectionError):
    """The catalog's database server cannot be reached: the site's to fix, like a lost disk
    (an OSError, so callers that handle I/O failures handle this too)."""


class _Connection(Protocol):
    """What the catalog uses of a DB-API connection; sqlite3's and psycopg's both fit."""

    def execute(self, query: str, params: Sequence[Any] = ..., /) -> Any: ...

    def commit(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class _Backend:
    """What differs between the databases; the SQL is otherwise the same."""

    connect: Callable[[], _Connection]
    #: The DB-API parameter marker (``qmark`` or ``format`` paramstyle).
    marker: str
    #: Run first, on the schema's connection.
    prelude: tuple[str, ...]


def redacted(url: str) -> str:
    """The URL with any password shown as ``***``: safe for logs and error messages."""
    parts = urlsplit(url)
    userinfo, _, host = parts.netloc.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    if colon:
        parts = parts._replace(netloc=f"{user}:***@{host}")
    query = "&".join(
        "password=***" if item.startswith("password=") else item
        for item in parts.query.split("&")
    )
    return urlunsplit(parts._replace(query=query))


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())


def _sqlite(path: Path) -> _Backend:
    path.parent.mkdir(parents=True, exist_ok=True)
    return _Backend(
        lambda: sqlite3.connect(path, timeout=BUSY_TIMEOUT_S), "?", ("PRAGMA journal_mode=WAL",)
    )


def _postgres(url: str) -> _Backend:
    """psycopg is imported here only: SQLite catalogs neither need nor load it."""
    import psycopg

    def connect() -> _Connection:
        try:
            return psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.ProgrammingError as err:  # libpq could not parse the URL
            raise ValueError(f"catalog URL {redacted(url)!r}: {_one_line(err)}") from None
        except psycopg.OperationalError as err:
            raise CatalogUnreachable(f"catalog {redacted(url)}: {_one_line(err)}") from None

    # Concurrent CREATE ... IF NOT EXISTS can collide in PostgreSQL's system tables (two
    # archivers starting at once): one schema transaction at a time.
    lock = "SELECT pg_advisory_xact_lock(hashtext('dmcs catalog schema'))"
    return _Backend(connect, "%s", (lock,))


def _backend_for(url: str) -> _Backend:
    """The backend a catalog URL names; ValueError naming what is supported."""
    if url.startswith(POSTGRES_SCHEMES):
        return _postgres(url)
    if url.startswith("sqlite:///"):
        return _sqlite(Path(url.removeprefix("sqlite:///")))
    if "://" in url or not url:
        raise ValueError(f"catalog URL {redacted(url)!r} is not supported; use {SUPPORTED}")
    return _sqlite(Path(url))


class Catalog:
    """The ``raw`` table of archived files (SQLite or PostgreSQL; any number of processes)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._backend = _backend_for(url)
        with self._transaction() as db:
            for statement in (*self._backend.prelude, *_SCHEMA):
                db.execute(statement)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[_Connection]:
        """A connection of its own, committed if the block succeeds (closing an uncommitted
        connection rolls it back)."""
        db = self._backend.connect()
        try:
            yield db
            db.commit()
        finally:
            db.close()

    def register(self, record: RawRecord) -> bool:
        """Add one file's row; False if that CCD was registered already (nothing changes)."""
        placeholders = ", ".join(self._backend.marker for _ in COLUMNS)
        with self._transaction() as db:
            cursor = db.execute(
                f"INSERT INTO raw ({', '.join(COLUMNS)}) VALUES ({placeholders})"
                " ON CONFLICT (obsid, raft, sensor) DO NOTHING",
                astuple(record),
            )
            return cursor.rowcount == 1

    def get(self, obsid: str, raft: str, sensor: str) -> RawRecord | None:
        p = self._backend.marker
        with self._transaction() as db:
            row = db.execute(
                f"SELECT {', '.join(COLUMNS)} FROM raw"
                f" WHERE obsid = {p} AND raft = {p} AND sensor = {p}",
                (obsid, raft, sensor),
            ).fetchone()
        return RawRecord(*row) if row else None

    def records(self) -> list[RawRecord]:
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT {', '.join(COLUMNS)} FROM raw ORDER BY date_obs, obsid, raft, sensor"
            ).fetchall()
        return [RawRecord(*row) for row in rows]

    def count(self) -> int:
        with self._transaction() as db:
            return int(db.execute("SELECT count(*) FROM raw").fetchone()[0])
