"""Raw InfluxQL answered as pandas DataFrames, shaped as lsst-efd-client's `influx_client`.

That client is aioinflux's `InfluxDBClient` in dataframe mode, so notebooks index its answers
the way aioinflux shapes them: one series is a DataFrame (tz-aware UTC time index, tags as
columns); several series a dict keyed `name` or `name,tag=value`; nothing an empty dict;
several statements a list of such dicts. `InfluxFrameClient` answers the same way, and any
object with that `query` (`InfluxQueryClient`, e.g. a real aioinflux client) can stand in.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeAlias

import pandas as pd

from dmcs.async_resource import AsyncResource
from dmcs.telemetry.influx_http import InfluxHttp

FrameAnswer: TypeAlias = pd.DataFrame | dict[str, pd.DataFrame] | list[dict[str, pd.DataFrame]]
READ_STATEMENTS = ("SELECT", "SHOW")


class InfluxQueryClient(Protocol):
    """What the EFD client needs of its InfluxDB client (aioinflux's dataframe mode)."""

    async def query(self, q: str) -> Any: ...


class InfluxFrameClient(AsyncResource):
    """InfluxQL over one `InfluxHttp` (one database), answered as aioinflux answers."""

    def __init__(self, http: InfluxHttp) -> None:
        self.http = http

    async def close(self) -> None:
        await self.http.close()

    async def query(self, q: str) -> FrameAnswer:
        """Run any InfluxQL; statements that change the database are POSTed, as InfluxDB
        requires."""
        post = not q.lstrip().upper().startswith(READ_STATEMENTS)
        return frames_from_results(await self.http.query(q, post=post, epoch="ns"))


def frames_from_results(results: list[dict[str, Any]]) -> FrameAnswer:
    """InfluxDB's `results` as aioinflux's dataframe mode shapes them."""
    statements = [{_series_key(s): _series_frame(s) for s in result.get("series", [])}
                  for result in results]
    if len(statements) != 1:
        return statements
    (only,) = statements
    return next(iter(only.values())) if len(only) == 1 else only


def _series_key(series: dict[str, Any]) -> str:
    tags = series.get("tags") or {}
    return ",".join([series.get("name", ""), *(f"{k}={v}" for k, v in tags.items())])


def _series_frame(series: dict[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame(series.get("values", []), columns=series["columns"])
    if "time" in frame.columns:
        index = pd.DatetimeIndex(pd.to_datetime(frame.pop("time"), unit="ns", utc=True))
        # SHOW statements and aggregates without GROUP BY time come stamped at epoch 0
        frame.index = pd.RangeIndex(len(frame)) if (index.asi8 == 0).all() else index
    for tag, value in (series.get("tags") or {}).items():
        frame[tag] = value
    frame.index.name = None
    return frame
