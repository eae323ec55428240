"""The simulated DAQ store: raw CCD pixels of recent images, on disk, shared between processes.

The camera's DAQ holds each image until it is archived; so does this one. Layout under
``root``::

    index.sqlite                 images and CCDs (WAL; any process may read, the archiver marks)
    <imageName>/<R22_S11>.npy    one CCD: int32 array (16 amplifiers, rows, columns+overscan)

Writers (the camera simulator): ``begin_image`` (may evict the oldest archived image; raises
``DaqFullError`` when every held image still waits for the archiver), ``put_ccd`` per CCD
(atomic: temp file + rename, md5 and CRC-32 recorded), ``complete_image`` at end of readout.

Readers (archiver, prompt processing)::

    store = DaqStore(Path(root))
    image = store.image("MC_O_20261130_000012")     # DaqImage: visit, snap, groupId, type ...
    raw = store.read_raw(image.name, "R22_S11")      # payloads RawExposure (amps, metadata, wcs)
    store.images(group_id="20261130_science_0003")   # the snaps of one visit, complete only
    store.pending()                                  # (image, detector) not yet archived
    store.mark(image.name, "R22_S11", CcdState.ARCHIVED)

``read_raw`` checks the CRC-32 recorded at write time: a damaged file raises ``DaqCorruptError``
naming it, and nothing else is affected. The md5 is provenance (the archive's DAQMD5 card), not
recomputed on read: a second md5 pass was a third of archiving a CCD, and a CRC detects damage
as well at a tenth of the cost.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import shutil
import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dmcs import shared_sqlite
from dmcs.payloads.camera.camera import RawExposure
from dmcs.payloads.camera.raw_format import (
    raw_bytes,
    raw_crc32,
    raw_from_bytes,
    raw_metadata,
    raw_wcs,
    read_raw_file,
)
from dmcs.payloads.camera.render_cache import RenderedSnap

INDEX_FILE = "index.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    name TEXT PRIMARY KEY,
    number INTEGER NOT NULL,
    dayobs TEXT NOT NULL,
    instrument TEXT NOT NULL,
    image_type TEXT NOT NULL,
    group_id TEXT NOT NULL,
    visit INTEGER NOT NULL,
    snap INTEGER NOT NULL,
    exposure_time REAL NOT NULL,
    date_obs REAL NOT NULL,
    date_end REAL NOT NULL DEFAULT 0,
    detectors TEXT NOT NULL,
    key_values TEXT NOT NULL,
    complete INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS images_group ON images (group_id);
CREATE TABLE IF NOT EXISTS ccds (
    image TEXT NOT NULL REFERENCES images (name),
    detector TEXT NOT NULL,
    md5 TEXT NOT NULL,
    crc32 INTEGER,
    nbytes INTEGER NOT NULL,
    metadata TEXT NOT NULL,
    wcs TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'new',
    PRIMARY KEY (image, detector)
);
CREATE TABLE IF NOT EXISTS sequence (dayobs TEXT PRIMARY KEY, last INTEGER NOT NULL);
"""


class DaqFullError(RuntimeError):
    """No room for a new image: every image held still waits for the archiver."""


class DaqCorruptError(RuntimeError):
    """A CCD file is missing or does not match the md5 recorded when it was written."""


class CcdState(enum.StrEnum):
    """Where a CCD is in archiving: waiting, archived, or given up on (damaged)."""

    NEW = "new"
    ARCHIVED = "archived"
    FAILED = "failed"


@dataclass(frozen=True)
class DaqImage:
    """One image as the camera took it; ``date_obs``/``date_end`` are TAI unix seconds."""

    name: str
    number: int
    dayobs: str
    instrument: str
    image_type: str
    group_id: str
    visit: int
    snap: int
    exposure_time: float
    date_obs: float
    detectors: tuple[str, ...]
    key_values: dict[str, str] = field(default_factory=dict)
    date_end: float = 0.0
    complete: bool = False


@dataclass(frozen=True)
class DaqStatus:
    images_held: int
    images_unarchived: int
    bytes_held: int


class DaqStore:
    """Files per CCD plus an SQLite index under ``root``; at most ``capacity`` images held."""

    def __init__(self, root: Path, capacity: int = 1000) -> None:
        self.root = Path(root)
        self.capacity = capacity
        shared_sqlite.create(self.root / INDEX_FILE, _SCHEMA)
        with self._db() as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(ccds)")}
            if "crc32" not in columns:  # an index written before CRCs were recorded
                db.execute("ALTER TABLE ccds ADD COLUMN crc32 INTEGER")

    def _db(self) -> AbstractContextManager[sqlite3.Connection]:
        return shared_sqlite.connect(self.root / INDEX_FILE)

    def ccd_path(self, image_name: str, detector: str) -> Path:
        return self.root / image_name / f"{detector}.npy"

    # --- writing (camera) -------------------------------------------------------------------

    def next_image_number(self, dayobs: str) -> int:
        """The next image number (SEQNUM) of ``dayobs``; survives restarts and evictions."""
        with self._db() as db:
            db.execute("INSERT INTO sequence VALUES (?, 1) ON CONFLICT (dayobs)"
                       " DO UPDATE SET last = last + 1", (dayobs,))
            return int(db.execute("SELECT last FROM sequence WHERE dayobs = ?",
                                  (dayobs,)).fetchone()[0])

    def begin_image(self, image: DaqImage) -> None:
        """Register an image about to be read out, evicting the oldest archived ones if full."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            held = db.execute("SELECT count(*) FROM images").fetchone()[0]
            evicted = []
            for (name,) in db.execute(
                "SELECT name FROM images WHERE complete = 1 AND NOT EXISTS ("
                " SELECT 1 FROM ccds WHERE image = name AND state = 'new')"
                " ORDER BY date_obs, number LIMIT ?", (max(0, held - self.capacity + 1),),
            ).fetchall():
                evicted.append(name)
            if held - len(evicted) >= self.capacity:
                raise DaqFullError(
                    f"DAQ store full: {held} images held (capacity {self.capacity}), "
                    "none of the oldest archived yet"
                )
            for name in evicted:
                db.execute("DELETE FROM ccds WHERE image = ?", (name,))
                db.execute("DELETE FROM images WHERE name = ?", (name,))
            db.execute(
                "INSERT INTO images (name, number, dayobs, instrument, image_type, group_id,"
                " visit, snap, exposure_time, date_obs, detectors, key_values)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (image.name, image.number, image.dayobs, image.instrument, image.image_type,
                 image.group_id, image.visit, image.snap, image.exposure_time, image.date_obs,
                 ",".join(image.detectors), json.dumps(image.key_values)),
            )
        for name in evicted:
            shutil.rmtree(self.root / name, ignore_errors=True)

    def put_ccd(self, image_name: str, detector: str, raw: RawExposure) -> None:
        """Store one CCD's amplifiers (atomically) with its metadata and WCS."""
        data = raw_bytes(raw)
        path = self.ccd_path(image_name, detector)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as stream:
            stream.write(data)
        os.replace(tmp, path)
        self._index_ccd(image_name, detector, hashlib.md5(data).hexdigest(), raw_crc32(data),
                        len(data), raw_metadata(raw), raw_wcs(raw))

    def put_ccd_file(self, image_name: str, detector: str, rendered: RenderedSnap) -> None:
        """Store one CCD by copying an already rendered file (the camera's readout).

        The md5 and CRC are the ones recorded when the file was rendered: a file damaged since
        then fails ``read_raw`` as any damaged CCD does.
        """
        path = self.ccd_path(image_name, detector)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        shutil.copyfile(rendered.path, tmp)
        os.replace(tmp, path)
        self._index_ccd(image_name, detector, rendered.md5, rendered.crc32, rendered.nbytes,
                        rendered.metadata, rendered.wcs)

    def _index_ccd(self, image_name: str, detector: str, md5: str, crc32: int, nbytes: int,
                   metadata: str, wcs: str) -> None:
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO ccds (image, detector, md5, crc32, nbytes, metadata, wcs)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (image_name, detector, md5, crc32, nbytes, metadata, wcs),
            )

    def complete_image(self, image_name: str, date_end: float) -> None:
        """End of readout: the image is whole and may be archived."""
        with self._db() as db:
            db.execute("UPDATE images SET complete = 1, date_end = ? WHERE name = ?",
                       (date_end, image_name))

    # --- reading (archiver, prompt processing) ---------------------------------------------------

    def image(self, name: str) -> DaqImage:
        with self._db() as db:
            row = db.execute("SELECT * FROM images WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise KeyError(f"image {name!r} is not in the DAQ store at {self.root}")
        return _image_from_row(row)

    def images(self, group_id: str | None = None, complete_only: bool = True) -> list[DaqImage]:
        """Images held, oldest first; optionally those of one group (the snaps of a visit)."""
        query = "SELECT * FROM images WHERE (? IS NULL OR group_id = ?)"
        if complete_only:
            query += " AND complete = 1"
        with self._db() as db:
            rows = db.execute(query + " ORDER BY date_obs, number", (group_id, group_id))
            return [_image_from_row(r) for r in rows.fetchall()]

    def read_raw(self, image_name: str, detector: str) -> RawExposure:
        """One CCD as the simulator made it; DaqCorruptError if missing or damaged."""
        with self._db() as db:
            row = db.execute(
                "SELECT md5, crc32, metadata, wcs FROM ccds WHERE image = ? AND detector = ?",
                (image_name, detector),
            ).fetchone()
        path = self.ccd_path(image_name, detector)
        if row is None:
            raise DaqCorruptError(f"{image_name} {detector}: not in the DAQ store index")
        md5, crc32, metadata, wcs_text = row
        try:
            data = read_raw_file(path)
        except OSError as err:
            raise DaqCorruptError(f"{path}: cannot read ({err.strerror or err})") from None
        intact = (raw_crc32(data.data) == crc32 if crc32 is not None
                  else hashlib.md5(data.data).hexdigest() == md5)
        if not intact:
            raise DaqCorruptError(f"{path}: checksum mismatch (file damaged since readout)")
        return raw_from_bytes(data, metadata, wcs_text)

    def ccd_md5(self, image_name: str, detector: str) -> str:
        """The md5 of a CCD file recorded at readout (provenance)."""
        return str(self._ccd_column(image_name, detector, "md5"))

    def pending(self) -> list[tuple[DaqImage, str]]:
        """CCDs of complete images not yet archived (nor given up on), oldest first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT images.*, ccds.detector FROM ccds JOIN images ON images.name = ccds.image"
                " WHERE images.complete = 1 AND ccds.state = 'new'"
                " ORDER BY images.date_obs, images.number, ccds.detector"
            ).fetchall()
        return [(_image_from_row(r[:-1]), r[-1]) for r in rows]

    def pending_count(self) -> int:
        """How many CCDs ``pending`` would return (cheap: for a backlog figure per CCD)."""
        with self._db() as db:
            return int(db.execute(
                "SELECT count(*) FROM ccds JOIN images ON images.name = ccds.image"
                " WHERE images.complete = 1 AND ccds.state = 'new'").fetchone()[0])

    def mark(self, image_name: str, detector: str, state: CcdState) -> None:
        """Record the archiver's outcome for one CCD (ARCHIVED or FAILED frees it for eviction)."""
        with self._db() as db:
            db.execute("UPDATE ccds SET state = ? WHERE image = ? AND detector = ?",
                       (str(state), image_name, detector))

    def ccd_state(self, image_name: str, detector: str) -> CcdState:
        return CcdState(self._ccd_column(image_name, detector, "state"))

    def _ccd_column(self, image_name: str, detector: str, column: Literal["md5", "state"]) -> Any:
        """One column of a CCD's index row; KeyError if the store does not hold that CCD."""
        with self._db() as db:
            row = db.execute(f"SELECT {column} FROM ccds WHERE image = ? AND detector = ?",
                             (image_name, detector)).fetchone()
        if row is None:
            raise KeyError(f"{image_name} {detector} is not in the DAQ store")
        return row[0]

    def status(self) -> DaqStatus:
        with self._db() as db:
            held, nbytes = db.execute(
                "SELECT (SELECT count(*) FROM images), coalesce(sum(nbytes), 0) FROM ccds"
            ).fetchone()
            unarchived = db.execute(
                "SELECT count(DISTINCT image) FROM ccds WHERE state = 'new'"
            ).fetchone()[0]
        return DaqStatus(int(held), int(unarchived), int(nbytes))


def _image_from_row(row: tuple[Any, ...]) -> DaqImage:
    (name, number, dayobs, instrument, image_type, group_id, visit, snap, exposure_time,
     date_obs, date_end, detectors, key_values, complete) = row
    return DaqImage(
        name=name, number=number, dayobs=dayobs, instrument=instrument, image_type=image_type,
        group_id=group_id, visit=visit, snap=snap, exposure_time=exposure_time,
        date_obs=date_obs, detectors=tuple(detectors.split(",")),
        key_values=json.loads(key_values), date_end=date_end, complete=bool(complete),
    )
