"""The Alert Production Database: Rubin's own, ``lsst-dax-apdb``'s ``ApdbSql``.

Opened from an SQLAlchemy URL: ``sqlite:////absolute/apdb.sqlite3`` (the default, one file)
or ``postgresql://user@host:port/db``. A database without APDB tables is created with the
package's own ``ApdbSql.init_database`` (the ``lsst-sdm-schemas`` APDB schema); for SQLite its
configuration is saved beside it as ``<file>.yaml``, which ``apdb-cli`` and
``Apdb.from_uri`` read. DiaObjects are versioned by ``validityStartMjdTai`` (a new version per
visit that changes an object); DIASources keep the history.

Association reads, matches and stores: two writers of one region at once would both found the
same object, so every association holds the database's writer lock (an advisory file lock
beside an SQLite file, ``pg_advisory_lock`` on PostgreSQL) from its read to its store.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import astropy.time
import pandas as pd
import sqlalchemy
from lsst.dax.apdb import Apdb, ApdbSql, ApdbSqlConfig
from lsst.sphgeom import Box, LonLat

SUPPORTED_SCHEMES = ("sqlite", "postgresql")
#: pg_advisory_lock key of association (any constant shared by every writer).
_PG_LOCK_KEY = 0x41504442
OBJECT_TABLE = "DiaObject"
SOURCE_TABLE = "DiaSource"


def parse_apdb_url(url: str) -> str:
    """The URL's scheme (sqlite, postgresql); ValueError naming what is wrong otherwise."""
    scheme, separator, rest = url.partition("://")
    scheme = scheme.split("+")[0]
    if not separator:
        raise ValueError(f"APDB URL {url!r} is not a URL: expected sqlite:///path/to/apdb.sqlite3"
                         " or postgresql://host/db")
    if scheme not in SUPPORTED_SCHEMES:
        raise ValueError(
            f"unsupported APDB URL scheme {scheme!r} in {url!r}: "
            f"supported schemes are {', '.join(SUPPORTED_SCHEMES)}"
        )
    if scheme == "sqlite" and (not rest.startswith("/") or len(rest) < 2):
        raise ValueError(
            f"APDB URL {url!r} names no database file: expected sqlite:///path/to/apdb.sqlite3"
        )
    return scheme


def sqlite_path(url: str) -> Path | None:
    """The database file of an SQLite URL (None for other databases)."""
    if parse_apdb_url(url) != "sqlite":
        return None
    return Path(url.partition("://")[2][1:])


def config_path(url: str) -> Path | None:
    """Where the APDB's configuration is saved (beside an SQLite file)."""
    path = sqlite_path(url)
    return None if path is None else path.with_name(path.name + ".yaml")


def sky_box(ra_min: float, ra_max: float, dec_min: float, dec_max: float) -> Box:
    return Box(LonLat.fromDegrees(ra_min, dec_min), LonLat.fromDegrees(ra_max, dec_max))


class ApdbClient:
    """Association's view of the APDB: region reads and stores through the ``Apdb`` API."""

    def __init__(self, url: str) -> None:
        parse_apdb_url(url)
        self.url = url
        self.engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        with self._writer_lock():
            self.apdb = self._open()

    def _open(self) -> Apdb:
        inspector = sqlalchemy.inspect(self.engine)
        saved = config_path(self.url)
        if not inspector.has_table(OBJECT_TABLE):
            config = ApdbSql.init_database(db_url=self.url)
            if saved is not None:
                config.save(str(saved))
            return Apdb.from_config(config)
        if not inspector.has_table("metadata"):
            raise ValueError(f"APDB {self.url} was made by an older dmcs (no APDB metadata "
                             "table): move it away and run again")
        if saved is not None and saved.exists():
            return Apdb.from_uri(str(saved))
        return Apdb.from_config(ApdbSqlConfig(db_url=self.url))

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _writer_lock(self) -> Iterator[None]:
        path = sqlite_path(self.url)
        if path is not None:
            with path.with_name(path.name + ".lock").open("a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
            return
        with self.engine.connect() as connection:
            connection.execute(sqlalchemy.text(f"SELECT pg_advisory_lock({_PG_LOCK_KEY})"))
            try:
                yield
            finally:
                connection.execute(sqlalchemy.text(f"SELECT pg_advisory_unlock({_PG_LOCK_KEY})"))

    @contextmanager
    def association(self) -> Iterator[None]:
        """Hold the writer lock from the region read to the store."""
        with self._writer_lock():
            yield

    def objects_in(self, region: Box) -> pd.DataFrame:
        """The latest version of every DiaObject in ``region`` (only those inside it)."""
        objects = self.apdb.getDiaObjects(region)
        lon, lat = region.getLon(), region.getLat()
        ra = objects["ra"].to_numpy(dtype=float)
        dec = objects["dec"].to_numpy(dtype=float)
        ra_min, ra_max = lon.getA().asDegrees(), lon.getB().asDegrees()
        inside = (dec >= lat.getA().asDegrees()) & (dec <= lat.getB().asDegrees())
        if ra_min <= ra_max:
            inside &= (ra >= ra_min) & (ra <= ra_max)
        else:  # the box spans RA 0
            inside &= (ra >= ra_min) | (ra <= ra_max)
        return objects[inside].reset_index(drop=True)

    def sources_of(self, region: Box, object_ids: list[int],
                   visit_time: astropy.time.Time) -> pd.DataFrame:
        """The DIASources of these objects (within the APDB's history window)."""
        found = self.apdb.getDiaSources(region, object_ids, visit_time)
        return found if found is not None else pd.DataFrame()

    def contains(self, visit: int, detector: int) -> bool:
        return bool(self.apdb.containsVisitDetector(visit, detector))

    def next_object_id(self) -> int:
        with self.engine.connect() as connection:
            largest = connection.execute(sqlalchemy.text(
                f'SELECT MAX("diaObjectId") FROM "{OBJECT_TABLE}"')).scalar()
        return 1 if largest is None else int(largest) + 1

    def store(self, visit_time: astropy.time.Time, objects: pd.DataFrame,
              sources: pd.DataFrame) -> None:
        self.apdb.store(visit_time, objects, sources)

    def count(self, table: str) -> int:
        """DIASources, or DiaObjects (each counted once, however many versions it has)."""
        if table not in (OBJECT_TABLE, SOURCE_TABLE):
            raise ValueError(f"no APDB table {table!r}")
        key = "diaObjectId" if table == OBJECT_TABLE else "diaSourceId"
        with self.engine.connect() as connection:
            total = connection.execute(
                sqlalchemy.text(f'SELECT COUNT(DISTINCT "{key}") FROM "{table}"')).scalar()
        return int(total or 0)
