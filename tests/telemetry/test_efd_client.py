"""The EFD client answers as lsst-efd-client 0.13 does, on a real InfluxDB laid out as the EFD.

Each test reads a database of its own (efd_points.py): Test.scalars has int0 = k at T0 + k s
for k = 0…9, salIndex 1 for even k and 2 for odd; the array topics are sampled at T0, T0+1,
T0+3.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from astropy.time import Time, TimeDelta
from efd_points import (
    ARRAY_SAMPLES,
    ARRAYS,
    ELEMENTS,
    NO_CRIO,
    OLD_INDEXED,
    SCALARS,
    T0,
    TAI_MINUS_UTC,
    TAI_STAMPED,
    efd_database,
)

from dmcs.telemetry.efd_client import EfdClient, EfdError
from dmcs.telemetry.influx_server import InfluxServer


@pytest.fixture
async def client(influx: InfluxServer) -> AsyncIterator[EfdClient]:
    async with efd_database(influx.url) as efd:
        yield efd


def at(seconds: float) -> Time:
    """T0 + `seconds`, as an astropy UTC Time (what notebooks pass)."""
    return Time(T0 + seconds, format="unix", scale="utc")


def utc(seconds: float) -> pd.Timestamp:
    return pd.Timestamp((T0 + seconds) * 1e9, tz="UTC")


@pytest.mark.parametrize("duration", [TimeDelta(3, format="sec"), dt.timedelta(seconds=3),
                                      pd.Timedelta(seconds=3), 3.0])
async def test_a_duration_as_end_means_start_plus_it(client: EfdClient, duration: Any) -> None:
    frame = await client.select_time_series(SCALARS, "int0", at(2), duration)
    assert frame["int0"].tolist() == [2, 3, 4, 5]
    assert frame.index[0] == utc(2)


async def test_a_window_is_centred_on_start(client: EfdClient) -> None:
    frame = await client.select_time_series(SCALARS, ["int0"], at(5), TimeDelta(4, format="sec"),
                                            is_window=True)
    assert frame["int0"].tolist() == [3, 4, 5, 6, 7]


async def test_a_window_with_an_absolute_end_is_the_plain_range(client: EfdClient) -> None:
    """lsst-efd-client applies is_window only when end is a duration."""
    frame = await client.select_time_series(SCALARS, ["int0"], at(5), at(7), is_window=True)
    assert frame["int0"].tolist() == [5, 6, 7]


async def test_a_duration_as_start_is_an_error_naming_it(client: EfdClient) -> None:
    with pytest.raises(EfdError, match=r"bad start .*a duration"):
        await client.select_time_series(SCALARS, ["int0"], TimeDelta(3, format="sec"), at(5))


async def test_index_keeps_one_sal_index(client: EfdClient) -> None:
    frame = await client.select_time_series(SCALARS, ["int0", "salIndex"], at(0), at(9), index=2)
    assert frame["int0"].tolist() == [1, 3, 5, 7, 9]


async def test_results_are_indexed_by_tz_aware_utc(client: EfdClient) -> None:
    frame = await client.select_time_series(SCALARS, ["int0"], at(0), at(1))
    assert str(frame.index.tz) == "UTC"
    assert frame.index.tolist() == [utc(0), utc(1)]


async def test_float_fields_are_float64_even_when_every_value_is_integral(
        client: EfdClient) -> None:
    """InfluxDB's JSON says 0 and 2 for 0.0 and 2.0; the column must stay float."""
    frame = await client.select_time_series(SCALARS, ["float0", "double0", "int0"], at(0), at(3))
    assert frame["float0"].dtype == np.float64 and frame["float0"].tolist() == [0.0] * 4
    assert frame["double0"].dtype == np.float64
    assert frame["int0"].dtype == np.int64


async def test_top_n_is_newest_first(client: EfdClient) -> None:
    frame = await client.select_top_n(SCALARS, ["int0"], 3)
    assert frame["int0"].tolist() == [9, 8, 7]
    assert frame.index.is_monotonic_decreasing


async def test_top_n_of_zero_is_every_row(client: EfdClient) -> None:
    frame = await client.select_top_n(SCALARS, "int0", 0)
    assert frame["int0"].tolist() == list(range(9, -1, -1))


async def test_top_n_time_cut_is_strictly_before(client: EfdClient) -> None:
    frame = await client.select_top_n(SCALARS, ["int0"], 3, time_cut=at(5))
    assert frame["int0"].tolist() == [4, 3, 2]
    frame = await client.select_top_n(SCALARS, ["int0"], 3, time_cut=at(5), index=2)
    assert frame["int0"].tolist() == [3, 1]


async def test_top_n_of_a_negative_number_is_an_error(client: EfdClient) -> None:
    with pytest.raises(EfdError, match="bad number of rows -1"):
        await client.select_top_n(SCALARS, ["int0"], -1)


async def test_packed_times_are_the_reference_columns_tai_spaced_by_the_first_step(
        client: EfdClient) -> None:
    """Element i of a sample at cRIO_timestamp + i·(first step)/N, the index that as
    tz-naive UTC; the uneven third sample still uses the first step (1 s / 5)."""
    frame = await client.select_packed_time_series(ARRAYS, "accel", at(0), at(3))
    step = (ARRAY_SAMPLES[1] - ARRAY_SAMPLES[0]) / ELEMENTS
    tai = [T0 + TAI_MINUS_UTC + k + i * step for k in ARRAY_SAMPLES for i in range(ELEMENTS)]
    assert frame["times"].to_numpy() == pytest.approx(tai, abs=1e-6)
    assert frame["accel"].tolist() == [10.0 * k + i for k in ARRAY_SAMPLES
                                       for i in range(ELEMENTS)]
    assert frame.index.tz is None
    expected = [pd.Timestamp((t - TAI_MINUS_UTC) * 1e9) for t in tai]
    assert np.abs((frame.index - pd.DatetimeIndex(expected)).total_seconds()).max() < 1e-6


async def test_packed_one_sample_has_every_element_at_its_time(client: EfdClient) -> None:
    frame = await client.select_packed_time_series(ARRAYS, ["accel", "count"], at(-0.5),
                                                   TimeDelta(1, format="sec"))
    assert frame["times"].tolist() == [float(T0 + TAI_MINUS_UTC)] * ELEMENTS
    assert frame["count"].tolist() == list(range(ELEMENTS))


async def test_packed_all_zero_float_field_is_float64(client: EfdClient) -> None:
    frame = await client.select_packed_time_series(ARRAYS, "zero", at(0), at(3))
    assert frame["zero"].dtype == np.float64
    assert (frame["zero"] == 0.0).all() and len(frame) == len(ARRAY_SAMPLES) * ELEMENTS


async def test_packed_default_reference_is_crio_timestamp(client: EfdClient) -> None:
    with pytest.raises(EfdError, match=r"no field cRIO_timestamp .* private_sndStamp"):
        await client.select_packed_time_series(NO_CRIO, "accel", at(0), at(1))
    frame = await client.select_packed_time_series(NO_CRIO, "accel", at(-1), at(1),
                                                   ref_timestamp_col="private_sndStamp")
    assert frame["times"].tolist() == [float(T0 + TAI_MINUS_UTC)] * ELEMENTS
    assert frame.index[0] == pd.Timestamp(T0 * 1e9)


async def test_packed_takes_the_legacy_flags(client: EfdClient) -> None:
    """use_old_csc_indexing filters on `<Component>ID`; convert_influx_index is accepted."""
    frame = await client.select_packed_time_series(
        OLD_INDEXED, "count", at(0), at(3), index=2, use_old_csc_indexing=True,
        convert_influx_index=False)
    assert frame["count"].tolist() == [5 * k + i for k in (1, 3) for i in range(ELEMENTS)]


async def test_packed_errors_name_what_is_wrong(client: EfdClient) -> None:
    with pytest.raises(EfdError, match=r"has no array field.* nope"):
        await client.select_packed_time_series(ARRAYS, ["accel", "nope"], at(0), at(3))
    with pytest.raises(EfdError, match="cannot read cRIO_timestamp as astropy Time format "
                       "'fortnights'"):
        await client.select_packed_time_series(ARRAYS, "accel", at(0), at(3),
                                               ref_timestamp_fmt="fortnights")


async def test_packed_with_no_rows_is_empty_with_its_columns(client: EfdClient) -> None:
    frame = await client.select_packed_time_series(ARRAYS, "accel", at(100), at(200))
    assert frame.empty and list(frame.columns) == ["accel", "times"]


async def test_convert_influx_index_reads_an_efd_that_stored_tai(client: EfdClient) -> None:
    """The point of TAI_STAMPED was stored at T0 + 37 s (TAI); its UTC time is T0."""
    assert (await client.select_time_series(TAI_STAMPED, "int0", at(-1), at(1))).empty
    frame = await client.select_time_series(TAI_STAMPED, "int0", at(-1), at(1),
                                            convert_influx_index=True)
    assert frame["int0"].tolist() == [7]
    assert frame.index[0] == utc(0)
    frame = await client.select_top_n(TAI_STAMPED, "int0", 1, time_cut=at(1),
                                      convert_influx_index=True)
    assert frame.index.tolist() == [utc(0)]


async def test_use_old_csc_indexing_filters_on_the_component_id(client: EfdClient) -> None:
    frame = await client.select_time_series(OLD_INDEXED, ["count0"], at(0), at(3), index=1,
                                            use_old_csc_indexing=True)
    assert frame["count0"].tolist() == [0, 10]


async def test_build_time_range_query_is_what_select_time_series_sends(
        client: EfdClient) -> None:
    query = client.build_time_range_query(SCALARS, ["int0"], at(2), TimeDelta(3, format="sec"),
                                          index=1)
    frame = await client.select_time_series(SCALARS, ["int0"], at(2), TimeDelta(3, format="sec"),
                                            index=1)
    assert client.query_history[-1] == query
    raw = await client.influx_client.query(query)
    assert raw["int0"].tolist() == frame["int0"].tolist() == [2, 4]


async def test_query_history_keeps_every_query_in_order(client: EfdClient) -> None:
    await client.get_topics()
    await client.select_top_n(SCALARS, "int0", 1)
    assert client.query_history[0] == "SHOW MEASUREMENTS"
    assert client.query_history[1].startswith("SHOW FIELD KEYS")
    assert client.query_history[2].startswith('SELECT "int0"') and "LIMIT 1" in \
        client.query_history[2]
    assert len(client.query_history) == 3


async def test_influx_client_answers_raw_influxql_as_aioinflux_does(client: EfdClient) -> None:
    """One series: a DataFrame indexed by tz-aware UTC; several: a dict by name; none: {};
    several statements: a list of such dicts."""
    one = await client.influx_client.query(f'SELECT "int0" FROM "{SCALARS}" LIMIT 2')
    assert isinstance(one, pd.DataFrame)
    assert one["int0"].tolist() == [0, 1] and one.index.tolist() == [utc(0), utc(1)]
    topics = await client.influx_client.query("SHOW MEASUREMENTS")
    assert isinstance(topics, pd.DataFrame) and SCALARS in topics["name"].tolist()
    both = await client.influx_client.query(
        f'SELECT "salIndex" FROM "{SCALARS}", "{ARRAYS}" WHERE time <= \'{utc(0).isoformat()}\'')
    assert isinstance(both, dict) and sorted(both) == [ARRAYS, SCALARS]
    none = await client.influx_client.query(f'SELECT "int0" FROM "{SCALARS}" WHERE int0 > 100')
    assert none == {}
    two = await client.influx_client.query(
        f'SELECT last("int0") FROM "{SCALARS}"; SELECT "int0" FROM "{SCALARS}" WHERE int0 > 100')
    assert isinstance(two, list) and len(two) == 2 and two[1] == {}
    assert two[0][SCALARS]["last"].tolist() == [9]


async def test_an_empty_range_keeps_the_asked_columns(client: EfdClient) -> None:
    frame = await client.select_time_series(SCALARS, ["int0", "double0"], at(100), at(200))
    assert frame.empty and list(frame.columns) == ["int0", "double0"]
    assert str(frame.index.tz) == "UTC"


async def test_unknown_topic_or_field_is_an_error_naming_it(client: EfdClient) -> None:
    with pytest.raises(EfdError, match=r"no topic 'lsst.sal.Test.nope' .* e\.g\. lsst.sal.Test"):
        await client.get_fields("lsst.sal.Test.nope")
    with pytest.raises(EfdError, match=f"{SCALARS} has no field.* colour"):
        await client.select_top_n(SCALARS, ["int0", "colour"], 1)
