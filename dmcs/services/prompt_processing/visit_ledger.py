"""The visit ledger: every visit's prompt-processing state, changed only by compare-and-set.

This is the at-most-once guarantee. Alerts for a visit are sent only by whoever moves it into
ALERTING (from PROCESSING, for the night; from LATE, for the daytime catch-up), and a visit
leaves PROCESSING exactly once: to ALERTING or to LATE, whichever comes first. A service
restarted, a deadline racing a result, a catch-up run twice: none can send a visit's alerts
twice. A crash between ALERTING and ALERTED loses those alerts rather than repeating them.

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
"""


class VisitState(StrEnum):
    ANNOUNCED = "announced"
    PROCESSING = "processing"
    ALERTING = "alerting"
    ALERTED = "alerted"
    LATE = "late"
    CATCHING_UP = "catching_up"
    CAUGHT_UP = "caught_up"


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

    def counts(self) -> dict[VisitState, int]:
        with self._db() as db:
            rows = db.execute("SELECT state, count(*) FROM visits GROUP BY state").fetchall()
        return {VisitState(state): count for state, count in rows}


_SELECT = "SELECT group_id, visit, detectors, state, reason, images, alerts, latency FROM visits"


def _record(row: tuple[object, ...]) -> VisitRecord:
    group_id, visit, detectors, state, reason, images, alerts, latency = row
    return VisitRecord(
        group_id=str(group_id),
        visit=int(str(visit)),
        detectors=[d for d in str(detectors).split(",") if d],
        state=VisitState(str(state)),
        reason=str(reason),
        images=[i for i in str(images).split(",") if i],
        alerts=int(str(alerts)),
        latency=None if latency is None else float(str(latency)),
    )
