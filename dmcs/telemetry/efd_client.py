"""Query the EFD with the observatory's `lsst-efd-client` (0.13) calls, without its
credentials service or its numpy pin.

A notebook written for that client runs with the import changed::

    from dmcs.telemetry.efd_client import EfdClient
    client = EfdClient("summit")               # a named EFD (efd_names.py), or a URL
    df = await client.select_time_series("lsst.sal.Test.scalars", ["int0"], start, end)

Results are pandas DataFrames indexed by UTC time (tz-aware), except packed time series
(tz-naive UTC, as that client gives them). Where dmcs deliberately differs (docs/telemetry.md):
an unknown topic or field, a bad time or an empty range raises EfdError naming it instead of
a KeyError or an empty frame; an empty answer keeps the asked columns; float fields are
float64 even when every value is integral.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from dmcs.async_resource import AsyncResource
from dmcs.settings import settings
from dmcs.telemetry.efd_names import read_efd_names, resolve_efd
from dmcs.telemetry.efd_packed import packed_columns, unpack
from dmcs.telemetry.efd_query import (
    EfdError,
    Selection,
    quote,
    time_range,
    to_timestamp,
    utc_from_tai_index,
)
from dmcs.telemetry.efd_schema import schema_frame, topic_schema
from dmcs.telemetry.influx_frames import InfluxFrameClient, InfluxQueryClient
from dmcs.telemetry.influx_http import InfluxHttp

__all__ = ["EfdClient", "EfdError", "to_timestamp"]

#: lsst-efd-client's default request timeout, seconds.
DEFAULT_TIMEOUT_S = 900.0


class EfdClient(AsyncResource):
    """The EFD's query calls (`lsst-efd-client` names and arguments), as coroutines.

    `efd_name` is a name in the named-EFD file (`names_file`, default from `dmcs.settings`)
    or an InfluxDB URL; `db_name` overrides the database the name gives (else `efd`).
    `client` replaces the InfluxDB client every query goes through (anything with
    aioinflux's dataframe-mode `query`); by default it is `InfluxFrameClient`.
    """

    def __init__(self, efd_name: str, db_name: str | None = None, *,
                 timeout: float = DEFAULT_TIMEOUT_S, client: InfluxQueryClient | None = None,
                 names_file: Path | None = None, schema_registry: str | None = None) -> None:
        location = resolve_efd(efd_name, names_file or settings().efd_names_file)
        self.url = location.url
        self.db_name = db_name or location.database
        self.schema_registry_url = schema_registry or location.schema_registry
        self.influx = InfluxHttp(self.url, self.db_name, timeout=timeout)
        self.influx_client: InfluxQueryClient = client or InfluxFrameClient(self.influx)
        self.query_history: list[str] = []
        self._field_types: dict[str, dict[str, str]] = {}

    @classmethod
    def list_efd_names(cls, names_file: Path | None = None) -> list[str]:
        """The names of the EFDs in the named-EFD file, sorted (none without a file)."""
        return sorted(read_efd_names(names_file or settings().efd_names_file))

    async def close(self) -> None:
        await self.influx.close()

    async def _do_query(self, query: str) -> pd.DataFrame | None:
        """Run `query` through `influx_client`, kept in `query_history`; None when empty."""
        self.query_history.append(query)
        answer = await self.influx_client.query(query)
        return answer if isinstance(answer, pd.DataFrame) else None

    async def get_topics(self) -> list[str]:
        """Every topic (measurement) in the EFD, sorted."""
        frame = await self._do_query("SHOW MEASUREMENTS")
        return [] if frame is None else sorted(frame["name"])

    async def get_schema(self, topic: str) -> pd.DataFrame:
        """The topic's fields from the schema registry: name, description, units, aunits,
        is_array (see :mod:`dmcs.telemetry.efd_schema`); EfdError if there is no registry
        for this EFD or no schema for the topic."""
        if not self.schema_registry_url:
            raise EfdError("no schema registry for this EFD: give schema_registry= or a "
                           "'schema_registry' entry for it in the named-EFD file")
        schema = await topic_schema(self.schema_registry_url, topic)
        if schema is None:
            raise EfdError(f"the schema registry {self.schema_registry_url} has no schema "
                           f"for topic {topic}")
        return schema_frame(schema)

    async def get_fields(self, topic_name: str) -> list[str]:
        """The fields of a topic, sorted; EfdError if the topic is not in the EFD."""
        return sorted(await self._types(topic_name))

    async def _types(self, topic_name: str) -> dict[str, str]:
        """Each field's InfluxDB type (float, integer, string, boolean), asked once."""
        if topic_name not in self._field_types:
            frame = await self._do_query(
                f"SHOW FIELD KEYS FROM {quote(self.db_name)}..{quote(topic_name)}")
            if frame is None:
                raise EfdError(await self._unknown_topic(topic_name))
            self._field_types[topic_name] = dict(zip(frame["fieldKey"], frame["fieldType"],
                                                     strict=True))
        return self._field_types[topic_name]

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

    def _selection(self, topic_name: str, fields: str | list[str], index: int | None,
                   convert_influx_index: bool, use_old_csc_indexing: bool) -> Selection:
        return Selection(self.db_name, topic_name,
                         [fields] if isinstance(fields, str) else list(fields), index,
                         use_old_csc_indexing, convert_influx_index)

    def build_time_range_query(
        self, topic_name: str, fields: str | list[str], start: Any, end: Any,
        is_window: bool = False, index: int | None = None, convert_influx_index: bool = False,
        use_old_csc_indexing: bool = False,
    ) -> str:
        """The InfluxQL `select_time_series` sends for these arguments (fields unchecked)."""
        selection = self._selection(topic_name, fields, index, convert_influx_index,
                                    use_old_csc_indexing)
        return selection.between(*time_range(start, end, is_window))

    async def select_time_series(
        self, topic_name: str, fields: str | list[str], start: Any, end: Any,
        is_window: bool = False, index: int | None = None, convert_influx_index: bool = False,
        use_old_csc_indexing: bool = False,
    ) -> pd.DataFrame:
        """Rows of `fields` from `start` to `end` (both included), oldest first.

        `end` is a time, or a duration: `start`..`start`+`end`, or with `is_window` a window
        that wide centred on `start`. `index` keeps one salIndex (`<Component>ID` with
        `use_old_csc_indexing`); `convert_influx_index` reads a legacy EFD that stored TAI.
        """
        wanted = await self._check_fields(topic_name, fields)
        query = self.build_time_range_query(topic_name, wanted, start, end, is_window, index,
                                            convert_influx_index, use_old_csc_indexing)
        return await self._select(topic_name, wanted, query, convert_influx_index)

    async def select_top_n(
        self, topic_name: str, fields: str | list[str], num: int, time_cut: Any = None,
        index: int | None = None, convert_influx_index: bool = False,
        use_old_csc_indexing: bool = False,
    ) -> pd.DataFrame:
        """The newest `num` rows (every row when 0), newest first, strictly before
        `time_cut` if given."""
        if num < 0:
            raise EfdError(f"bad number of rows {num}: must be 0 (all) or more")
        wanted = await self._check_fields(topic_name, fields)
        selection = self._selection(topic_name, wanted, index, convert_influx_index,
                                    use_old_csc_indexing)
        before = None if time_cut is None else to_timestamp(time_cut, "time cut")
        return await self._select(topic_name, wanted, selection.latest(int(num), before),
                                  convert_influx_index)

    async def select_packed_time_series(
        self, topic_name: str, base_fields: str | list[str], start: Any, end: Any,
        is_window: bool = False, index: int | None = None,
        ref_timestamp_col: str = "cRIO_timestamp", ref_timestamp_fmt: str = "unix_tai",
        ref_timestamp_scale: str = "tai", convert_influx_index: bool = False,
        use_old_csc_indexing: bool = False,
    ) -> pd.DataFrame:
        """Array fields `base0 … baseN-1` unpacked into one row per element (efd_packed.py).

        `ref_timestamp_col` is the column giving each sample's time (read with astropy as
        `ref_timestamp_fmt`, `ref_timestamp_scale`); topics without a `cRIO_timestamp`
        name another, e.g. `private_sndStamp`.
        """
        bases = [base_fields] if isinstance(base_fields, str) else list(base_fields)
        types = await self._types(topic_name)
        packed = packed_columns(topic_name, sorted(types), bases)
        if ref_timestamp_col not in types:
            raise EfdError(f"{topic_name} has no field {ref_timestamp_col} to time its "
                           "samples by: give ref_timestamp_col, e.g. private_sndStamp")
        columns = [c for cols in packed.values() for c in cols]
        frame = await self.select_time_series(
            topic_name, [*columns, ref_timestamp_col], start, end, is_window, index,
            convert_influx_index, use_old_csc_indexing)
        return unpack(frame, packed, ref_timestamp_col, ref_timestamp_fmt, ref_timestamp_scale)

    async def _select(self, topic_name: str, fields: list[str], query: str,
                      tai_index: bool) -> pd.DataFrame:
        frame = await self._do_query(query)
        if frame is None:
            return pd.DataFrame(columns=[f for f in fields if f != "*"],
                                index=pd.DatetimeIndex([], tz="UTC"))
        # InfluxDB's JSON writes a float 2.0 as 2, which pandas would read as an integer
        types = await self._types(topic_name)
        floats = [c for c in frame.columns if types.get(c) == "float"]
        frame[floats] = frame[floats].astype("float64")
        if tai_index:
            frame.index = utc_from_tai_index(pd.DatetimeIndex(frame.index))
        return frame
