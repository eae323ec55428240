"""The night's EFD: where telemetry goes (``--efd URL``, else a local InfluxDB when `influxd`
is installed, else none) and the HTML report drawn from it at the end.

Both are optional: a night without an EFD is still a whole night, and an EFD report that
cannot be drawn is named in the night report, never a reason to lose it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

EFD_WRITER = "EFDWriter"


@contextlib.contextmanager
def efd_url(given: str | None, root: Path, *, local: bool) -> Iterator[str | None]:
    """The InfluxDB the EFD writer writes to for the night: `given`, else (if `local`) one
    started here when `influxd` is installed, else none."""
    if given or not local:
        yield given
        return
    from dmcs.telemetry.influx_server import InfluxServer
    from dmcs.telemetry.local_server import ServerError, find_binary

    try:
        find_binary(InfluxServer.name)
    except ServerError as err:
        log.warning("no EFD for this night: %s", err)
        yield None
        return
    with InfluxServer(root / "influxdb") as server:
        yield server.url


def efd_writer_config(url: str) -> dict[str, str]:
    """The EFDWriter's `_init.yaml` for this night."""
    return {"influx_url": url}


async def write_efd_report(url: str, prometheus_url: str | None, out: Path, *,
                           start: float) -> str:
    """Draw the EFD's HTML report of this night (with the Prometheus figures when there is
    one); the path, or why it could not be drawn."""
    from dmcs.telemetry.report import write_report

    try:
        path = await asyncio.to_thread(write_report, url, prometheus_url, out, start=start)
    except Exception as err:
        log.warning("EFD report not written: %s", err)
        return f"not written: {err}"
    return str(path)
