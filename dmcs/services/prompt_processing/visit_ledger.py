"""The visit ledger: every visit's and every CCD's prompt-processing state, changed only by
compare-and-set.

This is the at-most-once guarantee, CCD by CCD. A CCD's alerts are sent only by whoever moves
it into ALERTING (from PROCESSING, for the night) or CATCHING_UP (from LATE or FAILED, for the
daytime catch-up), and a CCD leaves PROCESSING exactly once: to ALERTING, UNPROCESSABLE (a
science result: too few stars), LATE (deadline, cancel) or FAILED (a system error),
whichever comes first. A service restarted, a deadline racing a result, a catch-up run
twice: none can send a CCD's alerts twice. A crash between ALERTING and ALERTED loses that
CCD's alerts rather than repeating them.

A visit is PROCESSING from its readout until every CCD has settled; then ALERTED if any CCD
made it (the others are caught up on their own), else LATE, and CAUGHT_UP once the catch-up
has settled every one of its CCDs.

One SQLite file (WAL), one short connection per call: the service, OCPS jobs and operators'
tools may all read and write it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from dmcs import shared_sqlite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS visits (
    group_id TEXT PRIMARY KEY,
    visit INTEGER NOT NULL,
    detectors TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    images TEXT NOT NULL DEFAULT '',
    alerts INTEGER NOT NULL DEFAULT 0,
    latency REAL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS ccds (
    group_id TEXT NOT NULL REFERENCES visits (group_id),
    detector TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    alerts INTEGER NOT NULL DEFAULT 0,
    latency REAL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (group_id, detector)
);
CREATE INDEX IF NOT EXISTS ccds_state ON ccds (state);
"""


class VisitState(StrEnum):
    ANNOUNCED = "announced"
    PROCESSING = "processing"
    ALERTED = "alerted"
    LATE = "late"
    CAUGHT_UP = "caught_up"


class CcdState(StrEnum):
    PROCESSING = "processing"
    ALERTING = "alerting"
    ALERTED = "alerted"
    UNPROCESSABLE = "unprocessable"
    LATE = "late"
    FAILED = "failed"
    CATCHING_UP = "catching_up"
    CAUGHT_UP = "caught_up"


#: CCDs the daytime catch-up takes.
LEFT_FOR_CATCH_UP = (CcdState.LATE, CcdState.FAILED)
#: CCDs with nothing left to do.
DONE = frozenset({CcdState.ALERTED, CcdState.UNPROCESSABLE, CcdState.CAUGHT_UP})


@dataclass(frozen=True)
class VisitRecord:
    group_id: str
    visit: int
    detectors: list[str]
    state: VisitState
    reason: str
    images: list[str]
    alerts: int
    latency: float | None


@dataclass(frozen=True)
class CcdRecord:
    group_id: str
    visit: int
    detector: str
    state: CcdState
    reason: str
    alerts: int
    latency: float | None
    images: list[str]


class VisitLedger:
    """See the module docstring."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        shared_sqlite.create(self.path, _SCHEMA)

    def _db(self) -> AbstractContextManager[sqlite3.Connection]:
        return shared_sqlite.connect(self.path)

    def announce(self, group_id: str, visit: int, detectors: list[str]) -> bool:
        """Record a visit as announced; False if the ledger already knows it."""
        with self._db() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO visits (group_id, visit, detectors, state, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (group_id, visit, ",".join(detectors), VisitState.ANNOUNCED, time.time()),
            )
            return cursor.rowcount == 1

    def begin(self, group_id: str, images: list[str], detectors: list[str]) -> bool:
        """ANNOUNCED -> PROCESSING with its images, and every CCD PROCESSING; True if this did."""
        now = time.time()
        with self._db() as db:
            cursor = db.execute(
                "UPDATE visits SET state = ?, images = ?, detectors = ?, updated_at = ?"
                " WHERE group_id = ? AND state = ?",
                (VisitState.PROCESSING, ",".join(images), ",".join(detectors), now, group_id,
                 VisitState.ANNOUNCED),
            )
            if cursor.rowcount != 1:
                return False
            db.executemany(
                "INSERT OR IGNORE INTO ccds (group_id, detector, state, updated_at)"
                " VALUES (?, ?, ?, ?)",
                [(group_id, detector, CcdState.PROCESSING, now) for detector in detectors],
            )
            return True

    def claim(
        self,
        group_id: str,
        from_states: Iterable[VisitState],
        to_state: VisitState,
        *,
        reason: str | None = None,
        images: list[str] | None = None,
        alerts: int | None = None,
        latency: float | None = None,
    ) -> bool:
        """Move the visit to `to_state` if it is in one of `from_states`; True if this call did."""
        sources = list(from_states)
        marks = ",".join("?" * len(sources))
        with self._db() as db:
            cursor = db.execute(
                f"UPDATE visits SET state = ?, updated_at = ?,"
                f" reason = coalesce(?, reason), images = coalesce(?, images),"
                f" alerts = coalesce(?, alerts), latency = coalesce(?, latency)"
                f" WHERE group_id = ? AND state IN ({marks})",
                (
                    to_state,
                    time.time(),
                    reason,
                    None if images is None else ",".join(images),
                    alerts,
                    latency,
                    group_id,
                    *sources,
                ),
            )
            return cursor.rowcount == 1

    def claim_ccds(
        self,
        group_id: str,
        detectors: Iterable[str],
        from_states: Iterable[CcdState],
        to_state: CcdState,
        *,
        reason: str | None = None,
        alerts: int | None = None,
        latency: float | None = None,
    ) -> list[str]:
        """Move each named CCD in one of `from_states` to `to_state`; the ones this call moved."""
        names = list(detectors)
        sources = list(from_states)
        if not names:
            return []
        with self._db() as db:
            rows = db.execute(
                f"UPDATE ccds SET state = ?, updated_at = ?, reason = coalesce(?, reason),"
                f" alerts = coalesce(?, alerts), latency = coalesce(?, latency)"
                f" WHERE group_id = ? AND detector IN ({','.join('?' * len(names))})"
                f" AND state IN ({','.join('?' * len(sources))}) RETURNING detector",
                (to_state, time.time(), reason, alerts, latency, group_id, *names, *sources),
            ).fetchall()
        moved = {str(row[0]) for row in rows}
        return [name for name in names if name in moved]

    def claim_ccd(
        self,
        group_id: str,
        detector: str,
        from_states: Iterable[CcdState],
        to_state: CcdState,
        *,
        reason: str | None = None,
        alerts: int | None = None,
        latency: float | None = None,
    ) -> bool:
        """`claim_ccds` for one CCD; True if this call moved it."""
        moved = self.claim_ccds(group_id, [detector], from_states, to_state, reason=reason,
                                alerts=alerts, latency=latency)
        return bool(moved)

    def get(self, group_id: str) -> VisitRecord | None:
        with self._db() as db:
            row = db.execute(_SELECT + " WHERE group_id = ?", (group_id,)).fetchone()
        return None if row is None else _record(row)

    def in_state(self, *states: VisitState) -> list[VisitRecord]:
        marks = ",".join("?" * len(states))
        with self._db() as db:
            rows = db.execute(
                _SELECT + f" WHERE state IN ({marks}) ORDER BY visit", states
            ).fetchall()
        return [_record(row) for row in rows]

    def ccds(self, group_id: str | None = None, *states: CcdState) -> list[CcdRecord]:
        """CCDs of one visit (or of all, `group_id` None), optionally only in `states`."""
        where, values = [], []
        if group_id is not None:
            where.append("c.group_id = ?")
            values.append(group_id)
        if states:
            where.append(f"c.state IN ({','.join('?' * len(states))})")
            values.extend(states)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self._db() as db:
            rows = db.execute(_SELECT_CCDS + clause + " ORDER BY v.visit, c.detector",
                              values).fetchall()
        return [_ccd_record(row) for row in rows]

    def counts(self) -> dict[VisitState, int]:
        with self._db() as db:
            rows = db.execute("SELECT state, count(*) FROM visits GROUP BY state").fetchall()
        return {VisitState(state): count for state, count in rows}

    def ccd_counts(self) -> dict[CcdState, int]:
        with self._db() as db:
            rows = db.execute("SELECT state, count(*) FROM ccds GROUP BY state").fetchall()
        return {CcdState(state): count for state, count in rows}


_SELECT = "SELECT group_id, visit, detectors, state, reason, images, alerts, latency FROM visits"
_SELECT_CCDS = (
    "SELECT c.group_id, v.visit, c.detector, c.state, c.reason, c.alerts, c.latency, v.images"
    " FROM ccds c JOIN visits v ON v.group_id = c.group_id"
)


def _names(text: object) -> list[str]:
    return [name for name in str(text).split(",") if name]


def _record(row: tuple[object, ...]) -> VisitRecord:
    group_id, visit, detectors, state, reason, images, alerts, latency = row
    return VisitRecord(
        group_id=str(group_id),
        visit=int(str(visit)),
        detectors=_names(detectors),
        state=VisitState(str(state)),
        reason=str(reason),
        images=_names(images),
        alerts=int(str(alerts)),
        latency=None if latency is None else float(str(latency)),
    )


def _ccd_record(row: tuple[object, ...]) -> CcdRecord:
    group_id, visit, detector, state, reason, alerts, latency, images = row
    return CcdRecord(
        group_id=str(group_id),
        visit=int(str(visit)),
        detector=str(detector),
        state=CcdState(str(state)),
        reason=str(reason),
        alerts=int(str(alerts)),
        latency=None if latency is None else float(str(latency)),
        images=_names(images),
    )
