"""The InfluxQL the EFD client sends, built from the times and durations a user gives.

Times may be astropy ``Time``, ``datetime``, pandas ``Timestamp`` or ISO strings (UTC when no
zone is given); durations astropy ``TimeDelta``, ``timedelta``, pandas ``Timedelta`` or seconds.
Anything else raises EfdError naming the argument, never an astropy or pandas traceback.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd


class EfdError(ValueError):
    """A query the EFD cannot answer as asked; the text names what is wrong."""


def is_duration(value: Any) -> bool:
    """True for astropy TimeDelta (it has `.sec`), timedelta (pandas' too) and numbers."""
    return (hasattr(value, "sec") or isinstance(value, dt.timedelta)
            or (isinstance(value, int | float) and not isinstance(value, bool)))


def to_timestamp(value: Any, what: str = "time") -> pd.Timestamp:
    """A UTC pandas Timestamp from astropy Time, datetime, Timestamp or an ISO string."""
    if is_duration(value):
        raise EfdError(f"bad {what} {value!r}: a duration, expected a time such as "
                       "2025-01-31T22:00:00")
    if hasattr(value, "utc") and hasattr(value, "isot"):
        value = value.utc.isot
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise EfdError(f"bad {what} {value!r}: expected an ISO-8601 time such as "
                       "2025-01-31T22:00:00") from None
    if stamp is pd.NaT:
        raise EfdError(f"bad {what} {value!r}")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def to_seconds(value: Any, what: str = "window") -> float:
    """Seconds from astropy TimeDelta, timedelta, pandas Timedelta, a number or "10s"."""
    if hasattr(value, "sec"):
        return float(value.sec)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    try:
        return pd.Timedelta(value).total_seconds() if isinstance(value, str) else float(value)
    except (ValueError, TypeError):
        raise EfdError(f"bad {what} {value!r}: expected a duration") from None


def time_range(start: Any, end: Any, is_window: bool = False
               ) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The UTC range `start`..`end`, `start`..`start`+`end` when `end` is a duration, or a
    window `end` wide centred on `start` when `is_window` (lsst-efd-client applies
    `is_window` only to a duration, and so do we; a string `end` is a duration there)."""
    if is_duration(end) or (is_window and isinstance(end, str)):
        span = pd.Timedelta(seconds=to_seconds(end, "window" if is_window else "end"))
        if is_window:
            centre = to_timestamp(start, "window centre")
            begin, finish = centre - span / 2, centre + span / 2
        else:
            begin = to_timestamp(start, "start")
            finish = begin + span
    else:
        begin, finish = to_timestamp(start, "start"), to_timestamp(end, "end")
    if begin >= finish:
        raise EfdError(f"empty time range: start {begin.isoformat()} is not before "
                       f"end {finish.isoformat()}")
    return begin, finish


def tai_labelled_utc(stamp: pd.Timestamp) -> pd.Timestamp:
    """The TAI reading of a UTC time, labelled UTC: how legacy EFDs stored their time."""
    from astropy.time import Time

    tai = Time(stamp.tz_convert(None).to_datetime64(), format="datetime64", scale="utc").tai
    return pd.Timestamp(tai.datetime64, tz="UTC")


def utc_from_tai_index(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """A legacy EFD's TAI time index read as UTC (lsst-efd-client's `convert_influx_index`)."""
    if index.empty:
        return index
    from astropy.time import Time

    utc = Time(index.tz_convert(None).to_numpy(), format="datetime64", scale="tai").utc
    return pd.DatetimeIndex(utc.datetime64, tz="UTC")


def quote(name: str) -> str:
    """An InfluxQL identifier, quoted so any topic or field name is taken as written."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rfc3339(stamp: pd.Timestamp) -> str:
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Selection:
    """One SELECT from one topic of one database: what the client's calls have in common.

    `old_csc_indexing` names the index field `<Component>ID`, as EFDs of SAL before v7 did;
    `tai_index` queries a legacy EFD whose stored times are TAI.
    """

    database: str
    topic: str
    fields: list[str]
    index: int | None = None
    old_csc_indexing: bool = False
    tai_index: bool = False

    @property
    def index_field(self) -> str:
        return f"{self.topic.split('.')[-2]}ID" if self.old_csc_indexing else "salIndex"

    def stored_time(self, stamp: pd.Timestamp) -> pd.Timestamp:
        return tai_labelled_utc(stamp) if self.tai_index else stamp

    def query(self, conditions: list[str], tail: str = "") -> str:
        """`SELECT … FROM "<db>".."<topic>"` (the default retention policy, `autogen` in the
        observatory's EFD) with `conditions` and the salIndex filter ANDed."""
        if self.index:
            conditions = [*conditions, f"{quote(self.index_field)} = {int(self.index)}"]
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        columns = ", ".join("*" if f == "*" else quote(f) for f in self.fields)
        return f"SELECT {columns} FROM {quote(self.database)}..{quote(self.topic)}{where}{tail}"

    def between(self, begin: pd.Timestamp, finish: pd.Timestamp) -> str:
        """Rows from `begin` to `finish`, both included (as lsst-efd-client)."""
        return self.query([f"time >= '{rfc3339(self.stored_time(begin))}'",
                           f"time <= '{rfc3339(self.stored_time(finish))}'"])

    def latest(self, num: int, before: pd.Timestamp | None) -> str:
        """The newest `num` rows (all when 0), newest first, strictly before `before`."""
        cut = [f"time < '{rfc3339(self.stored_time(before))}'"] if before is not None else []
        return self.query(cut, " ORDER BY time DESC" + (f" LIMIT {num}" if num else ""))
