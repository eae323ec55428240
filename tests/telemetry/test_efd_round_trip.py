"""Every field type of the Test topics: Kafka -> EFD writer -> InfluxDB -> `dmcs efd query`."""

from __future__ import annotations

import asyncio
import io

import pandas as pd
from efd_helpers import wait_for_points
from typer.testing import CliRunner, Result

from dmcs.cli.main import app
from dmcs.csc.test_csc import TestCsc
from dmcs.sal.remote import Remote
from dmcs.telemetry.efd_client import EfdClient
from dmcs.telemetry.efd_writer import EfdWriter
from dmcs.telemetry.influx_server import InfluxServer
from dmcs.testing import walk_to_enabled

TRICKY = 'he said "hi", C:\\dir\\ x=1\nsecond line'
SCALARS = dict(boolean0=True, byte0=255, short0=-(2**15), int0=-(2**31), long0=2**31 - 1,
               longLong0=2**62, unsignedShort0=2**16 - 1, unsignedInt0=2**32 - 1, float0=0.25,
               double0=1 / 3, string0=TRICKY)
ARRAYS = dict(boolean0=[True, False, True, False, True], byte0=[0, 1, 2, 254, 255],
              short0=[-3, 3, 0, 1, -1], int0=[1, -2, 3, -4, 5], long0=[7, -7, 0, 2, 3],
              longLong0=[2**40, 0, -1, 7, 9], unsignedShort0=[0, 1, 65535, 2, 3],
              unsignedInt0=[0, 2**32 - 1, 5, 6, 7], float0=[0.5, 1.5, -2.5, 0.0, 8.0],
              double0=[0.1, 0.2, 0.3, 1e300, -1e-300])


def dmcs_efd(url: str, *args: str) -> Result:
    """`dmcs efd ...` in this process (run from a thread: it has its own event loop)."""
    return CliRunner(env={"COLUMNS": "250"}).invoke(app, ["efd", *args, "--efd", url])


async def test_every_field_type_round_trips_to_dmcs_efd_query(
    efd_writer: EfdWriter, csc: TestCsc, remote: Remote, efd: EfdClient, influx: InfluxServer,
) -> None:
    await walk_to_enabled(remote)
    await remote.cmd("setScalars").start(**SCALARS)
    await remote.cmd("setArrays").start(**ARRAYS)
    scalars, arrays = "lsst.sal.Test.scalars", "lsst.sal.Test.arrays"
    assert await wait_for_points(efd, scalars, 1) == 1
    assert await wait_for_points(efd, arrays, 1) == 1

    database = efd.influx.database
    result = await asyncio.to_thread(dmcs_efd, influx.url, "query", scalars, "--csv",
                                     "--db", database)
    assert result.exit_code == 0, result.output
    row = pd.read_csv(io.StringIO(result.output), index_col="time").iloc[-1]
    assert row["salIndex"] == 1
    assert row["boolean0"] == True  # noqa: E712 (numpy bool)
    for name in ("byte0", "short0", "int0", "long0", "longLong0", "unsignedShort0",
                 "unsignedInt0", "float0", "double0", "string0"):
        assert row[name] == SCALARS[name], name

    result = await asyncio.to_thread(dmcs_efd, influx.url, "query", arrays, "--csv",
                                     "--db", database)
    assert result.exit_code == 0, result.output
    row = pd.read_csv(io.StringIO(result.output), index_col="time").iloc[-1]
    for name, values in ARRAYS.items():
        assert [row[f"{name}{i}"] for i in range(5)] == values, name


async def test_layout_is_the_observatory_efd_layout(
    efd_writer: EfdWriter, csc: TestCsc, remote: Remote, efd: EfdClient,
) -> None:
    """Measurement = the schema's namespace + name (no subname), no tags, salIndex an integer
    field, time = private_efdStamp: as the site's Telegraf writes it."""
    await walk_to_enabled(remote)
    await remote.cmd("setScalars").start(**SCALARS)
    topic = "lsst.sal.Test.scalars"
    assert csc.domain.subname != "sal"
    await wait_for_points(efd, topic, 1)
    results = await efd.influx.query(f'SHOW FIELD KEYS FROM "{topic}"')
    types = dict(results[0]["series"][0]["values"])
    assert types["salIndex"] == "integer"
    assert (types["int0"], types["long0"], types["longLong0"]) == ("integer",) * 3
    assert (types["float0"], types["double0"]) == ("float", "float")
    assert (types["boolean0"], types["string0"]) == ("boolean", "string")
    assert "private_kafkaStamp" in types
    tags = await efd.influx.query(f'SHOW TAG KEYS FROM "{topic}"')
    assert "series" not in tags[0]
    frame = await efd.select_top_n(topic, ["private_efdStamp", "private_sndStamp"], 1, index=1)
    stamp = frame.index[0].value / 1e9
    assert abs(frame["private_efdStamp"].iloc[0] - stamp) < 1e-6
    assert 36 < frame["private_sndStamp"].iloc[0] - stamp < 38  # TAI - UTC, 37 s since 2017
