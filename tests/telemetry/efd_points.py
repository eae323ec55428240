"""A small EFD of a test's own, laid out as the observatory's: written as line protocol.

Database of its own; measurement `lsst.sal.<Component>.<topic>`; no tags; `salIndex` a field;
arrays flattened to `name0 … nameN-1`; time = `private_efdStamp` (UTC), microseconds.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from dmcs.telemetry.efd_client import EfdClient
from dmcs.telemetry.influx_http import InfluxHttp

#: 2025-01-31T22:00:00 UTC, in unix seconds; TAI is 37 s ahead.
T0 = 1_738_360_800
TAI_MINUS_UTC = 37
SCALARS = "lsst.sal.Test.scalars"
ARRAYS = "lsst.sal.Test.arrays"
#: Arrays sampled at T0, T0+1 and T0+3: a median step (2 s) unlike the first one (1 s).
ARRAY_SAMPLES = (0, 1, 3)
ELEMENTS = 5
#: Before SAL 7: the index field was `<Component>ID`.
OLD_INDEXED = "lsst.sal.Test.oldIndexed"
#: dmcs's own Test.arrays: no cRIO_timestamp, only the private stamps.
NO_CRIO = "lsst.sal.Test.noCrio"
#: A legacy EFD stored times in TAI.
TAI_STAMPED = "lsst.sal.Test.taiStamped"


def _line(topic: str, fields: dict[str, str], utc_seconds: float, stored: float | None = None
          ) -> str:
    """One point at `stored` (default `utc_seconds`), private_efdStamp = `utc_seconds`."""
    values = {**fields, "private_efdStamp": repr(float(utc_seconds)),
              "private_sndStamp": repr(float(utc_seconds + TAI_MINUS_UTC))}
    body = ",".join(f"{k}={v}" for k, v in values.items())
    return f"{topic} {body} {round((utc_seconds if stored is None else stored) * 1e6)}"


def _array_fields(k: int) -> dict[str, str]:
    """Sample k: accel_i = 10k + i, zero_i = 0.0, count_i = 5k + i, cRIO_timestamp in TAI."""
    return {**{f"accel{i}": repr(10.0 * k + i) for i in range(ELEMENTS)},
            **{f"zero{i}": "0.0" for i in range(ELEMENTS)},
            **{f"count{i}": f"{k * ELEMENTS + i}i" for i in range(ELEMENTS)},
            "cRIO_timestamp": repr(float(T0 + k + TAI_MINUS_UTC))}


def efd_lines() -> str:
    """Every point of the test EFD."""
    lines = [_line(SCALARS, {"salIndex": f"{1 if k % 2 == 0 else 2}i", "int0": f"{k}i",
                             "float0": "0.0", "double0": repr(float(k))}, T0 + k)
             for k in range(10)]
    lines += [_line(ARRAYS, {"salIndex": "1i", **_array_fields(k)}, T0 + k)
              for k in ARRAY_SAMPLES]
    lines += [_line(OLD_INDEXED, {"TestID": f"{index}i", **_array_fields(k)}, T0 + k)
              for k, index in ((0, 1), (1, 2), (2, 1), (3, 2))]
    accel = {f"accel{i}": repr(float(i)) for i in range(ELEMENTS)}
    lines.append(_line(NO_CRIO, {"salIndex": "1i", **accel}, T0))
    lines.append(_line(TAI_STAMPED, {"salIndex": "1i", "int0": "7i"}, T0,
                       stored=T0 + TAI_MINUS_UTC))
    return "\n".join(lines) + "\n"


@asynccontextmanager
async def efd_database(url: str, names_file: Path | None = None) -> AsyncIterator[EfdClient]:
    """A client of a fresh database holding `efd_lines()`, dropped afterwards."""
    database = f"efd_{uuid.uuid4().hex[:10]}"
    async with InfluxHttp(url, database) as http:
        await http.create_database()
        await http.write(efd_lines().encode())
        try:
            async with EfdClient(url, database, names_file=names_file) as client:
                yield client
        finally:
            await http.query(f'DROP DATABASE "{database}"', post=True)
