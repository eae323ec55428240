"""Query the EFD with the observatory's `lsst-efd-client` calls, without its credentials
service or its numpy pin.

A notebook written for that client runs with the import changed::

    from dmcs.telemetry.efd_client import EfdClient
    client = EfdClient("http://127.0.0.1:8086")
    df = await client.select_time_series("lsst.sal.Test.scalars", ["int0"], start, end)

Times may be astropy ``Time``, ``datetime``, pandas ``Timestamp`` or ISO strings (UTC when no
zone is given); windows (``is_window=True``) take a duration as ``end``. Results are pandas
DataFrames indexed by UTC time. A bad topic, field or time range raises EfdError naming it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from dmcs.async_resource import AsyncResource
from dmcs.telemetry.influx_http import DEFAULT_DATABASE, InfluxHttp


class EfdError(ValueError):
    """A query the EFD cannot answer as asked; the text names what is wrong."""


def to_timestamp(value: Any, what: str = "time") -> pd.Timestamp:
    """A UTC pandas Timestamp from astropy Time, datetime, Timestamp or an ISO string."""
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
    """Seconds from astropy TimeDelta, timedelta, pandas Timedelta or a number."""
    if hasattr(value, "sec"):
        return float(value.sec)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    try:
        return pd.Timedelta(value).total_seconds() if isinstance(value, str) else float(value)
    except (ValueError, TypeError):
        raise EfdError(f"bad {what} {value!r}: expected a duration") from None


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _packed_columns(fields: list[str], base: str) -> list[str]:
    """`base0 … baseN-1` among `fields`, in element order."""
    found = {int(f[len(base):]): f for f in fields
             if f.startswith(base) and f[len(base):].isdigit()}
    return [found[i] for i in sorted(found)]


def _rfc3339(stamp: pd.Timestamp) -> str:
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class EfdClient(AsyncResource):
    """The EFD's query calls (`lsst-efd-client` names and arguments), as coroutines."""

    def __init__(self, url: str, db_name: str = DEFAULT_DATABASE) -> None:
        self.influx = InfluxHttp(url, db_name, timeout=60.0)
        self._fields: dict[str, list[str]] = {}

    async def close(self) -> None:
        await self.influx.close()

    async def get_topics(self) -> list[str]:
        """Every topic (measurement) in the EFD, sorted."""
        results = await self.influx.query("SHOW MEASUREMENTS")
        series = results[0].get("series", []) if results else []
        return sorted(row[0] for s in series for row in s["values"])

    async def get_fields(self, topic_name: str) -> list[str]:
        """The fields of a topic, sorted; EfdError if the topic is not in the EFD."""
        if topic_name not in self._fields:
            results = await self.influx.query(f"SHOW FIELD KEYS FROM {_quote(topic_name)}")
            series = results[0].get("series", []) if results else []
            fields = sorted(row[0] for s in series for row in s["values"])
            if not fields:
                raise EfdError(await self._unknown_topic(topic_name))
            self._fields[topic_name] = fields
        return self._fields[topic_name]

    async def _unknown_topic(self, topic_name: str) -> str:
        topics = await self.get_topics()
        stem = topic_name.rsplit(".", 1)[0]
        near = [t for t in topics if t.startswith(stem)][:5] or topics[:5]
        hint = f"; e.g. {', '.join(near)}" if near else " (the EFD is empty)"
        return f"no topic {topic_name!r} in the EFD ({len(topics)} topics{hint})"

    async def _check_fields(self, topic_name: str, fields: str | list[str]) -> list[str]:
        wanted = [fields] if isinstance(fields, str) else list(fields)
        known = await self.get_fields(topic_name)
        unknown = [f for f in wanted if f not in known and f != "*"]
        if unknown:
            raise EfdError(f"{topic_name} has no field(s) {', '.join(unknown)}; fields: "
                           f"{', '.join(known)}")
        return wanted

    async def select_time_series(
        self, topic_name: str, fields: str | list[str], start: Any, end: Any,
        is_window: bool = False, index: int | None = None, convert_influx_index: bool = False,
        use_old_csc_indexing: bool = False,
    ) -> pd.DataFrame:
        """Rows of `fields` between `start` and `end` (or in a window of width `end` centred
        on `start`), of one `index` if given."""
        wanted = await self._check_fields(topic_name, fields)
        begin, finish = self._range(start, end, is_window)
        where = f"time >= '{_rfc3339(begin)}' AND time <= '{_rfc3339(finish)}'"
        return await self._select(topic_name, wanted, where, index, "")

    async def select_top_n(
        self, topic_name: str, fields: str | list[str], num: int, time_cut: Any = None,
        index: int | None = None, convert_influx_index: bool = False,
        use_old_csc_indexing: bool = False,
    ) -> pd.DataFrame:
        """The latest `num` rows (before `time_cut` if given), oldest first."""
        if num < 1:
            raise EfdError(f"bad number of rows {num}: must be at least 1")
        wanted = await self._check_fields(topic_name, fields)
        where = f"time <= '{_rfc3339(to_timestamp(time_cut, 'time cut'))}'" if time_cut else ""
        frame = await self._select(topic_name, wanted, where, index,
                                   f" ORDER BY time DESC LIMIT {int(num)}")
        return frame.sort_index()

    async def select_packed_time_series(
        self, topic_name: str, base_fields: str | list[str], start: Any, end: Any,
        is_window: bool = False, index: int | None = None,
        ref_timestamp_col: str = "private_sndStamp", ref_timestamp_fmt: str = "unix_tai",
        ref_timestamp_scale: str = "tai",
    ) -> pd.DataFrame:
        """Array fields `base0 … baseN-1` unpacked into one row per element.

        Element i of a sample is placed at the sample's reference time + i·Δ/N, Δ being the
        median spacing of samples (1 s if there is only one), as the observatory's client
        does for its packed 1 s telemetry. The reference column is TAI unix seconds.
        """
        bases = [base_fields] if isinstance(base_fields, str) else list(base_fields)
        known = await self.get_fields(topic_name)
        packed = {b: _packed_columns(known, b) for b in bases}
        missing = [b for b, cols in packed.items() if not cols]
        if missing:
            raise EfdError(f"{topic_name} has no array field(s) {', '.join(missing)}")
        columns = [c for cols in packed.values() for c in cols]
        frame = await self.select_time_series(topic_name, [*columns, ref_timestamp_col], start,
                                              end, is_window, index)
        if frame.empty:
            return pd.DataFrame(columns=[*bases, "times"])
        from dmcs.sal.tai import tai_minus_utc

        ref = frame[ref_timestamp_col].to_numpy(dtype=float) - tai_minus_utc()
        n = len(next(iter(packed.values())))
        step = (float(pd.Series(ref).diff().median()) if len(ref) > 1 else 1.0) / n
        times = (ref[:, None] + step * pd.RangeIndex(n).to_numpy()[None, :]).ravel()
        values = {b: frame[cols].to_numpy().ravel() for b, cols in packed.items()}
        out = pd.DataFrame({**values, "times": times},
                           index=pd.to_datetime(times, unit="s", utc=True))
        return out

    def _range(self, start: Any, end: Any, is_window: bool) -> tuple[pd.Timestamp, pd.Timestamp]:
        if is_window:
            centre = to_timestamp(start, "window centre")
            half = pd.Timedelta(seconds=to_seconds(end) / 2)
            begin, finish = centre - half, centre + half
        else:
            begin, finish = to_timestamp(start, "start"), to_timestamp(end, "end")
        if begin >= finish:
            raise EfdError(f"empty time range: start {begin.isoformat()} is not before "
                           f"end {finish.isoformat()}")
        return begin, finish

    async def _select(self, topic_name: str, fields: list[str], where: str,
                      index: int | None, tail: str) -> pd.DataFrame:
        conditions = [c for c in (where, f"salIndex = {int(index)}" if index else "") if c]
        clause = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        columns = ", ".join("*" if f == "*" else _quote(f) for f in fields)
        q = f"SELECT {columns} FROM {_quote(topic_name)}{clause}{tail}"
        results = await self.influx.query(q, epoch="ns")
        series = results[0].get("series", []) if results else []
        if not series:
            return pd.DataFrame(columns=[f for f in fields if f != "*"],
                                index=pd.DatetimeIndex([], tz="UTC"))
        frame = pd.DataFrame(series[0]["values"], columns=series[0]["columns"])
        frame.index = pd.to_datetime(frame.pop("time"), unit="ns", utc=True)
        frame.index.name = None
        return frame
