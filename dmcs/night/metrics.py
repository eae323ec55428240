"""The night's Prometheus side: a `/metrics` port per CSC process, the file-based service
discovery files naming them, a local Prometheus scraping them, and the dashboards proven.

The SD files are written whether or not Prometheus runs here, so an outside Prometheus can
be pointed at `<root>/prometheus/sd/*.json`. A local one is started only with the EFD (the
dashboards need both databases) and when `prometheus` is installed; it scrapes every
second so a night of minutes still has samples for every rate and increase.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dmcs.sal.broker import free_port
from dmcs.telemetry.prometheus_config import PrometheusConfig

log = logging.getLogger(__name__)

SCRAPE_INTERVAL_S = 1.0


def sd_dir(root: Path) -> Path:
    return root / "prometheus" / "sd"


class MetricsPorts:
    """A free loopback `/metrics` port per CSC process, each listed in its own SD file."""

    def __init__(self, root: Path) -> None:
        self.config = PrometheusConfig(sd_dir(root), SCRAPE_INTERVAL_S)
        self.ports: dict[str, int] = {}

    def args(self, component: str, index: int) -> list[str]:
        """`dmcs run` arguments serving this process's metrics on its own port."""
        label = f"{component}:{index}" if index else component
        port = self.ports[label] = free_port()
        self.config.add_target(label, port, labels={"component": component, "index": str(index)})
        return ["--metrics-port", str(port)]


@contextlib.contextmanager
def local_prometheus(root: Path, *, wanted: bool) -> Iterator[str | None]:
    """The URL of a Prometheus scraping this night's SD files, or None (not wanted, or not
    installed: said, never a reason to lose the night)."""
    if not wanted:
        yield None
        return
    from dmcs.telemetry.local_server import ServerError, find_binary
    from dmcs.telemetry.prometheus_server import PrometheusServer

    server = PrometheusServer(root / "prometheus", scrape_interval=SCRAPE_INTERVAL_S)
    try:
        find_binary(PrometheusServer.name)
        server.start()
    except ServerError as err:
        log.warning("no Prometheus for this night: %s", err)
        yield None
        return
    try:
        yield server.url
    finally:
        server.stop()


async def check_dashboards(influx_url: str, prometheus_url: str, *,
                           start: float) -> dict[str, Any]:
    """Run every panel query of every dashboard over the night; what returned data, what not."""
    from dmcs.dashboards.catalog import all_dashboards
    from dmcs.dashboards.verify import verify_dashboards

    checks = await verify_dashboards(all_dashboards(), influx_url, prometheus_url, start)
    return {"queries": len(checks), "with_data": sum(c.ok for c in checks),
            "empty": [f"{c.dashboard} / {c.panel}" + (f": {c.error}" if c.error else "")
                      for c in checks if not c.ok],
            "quiet_failure_tables": [f"{c.dashboard} / {c.panel}" for c in checks
                                     if c.failures_only and not c.error and not c.values]}


def dashboards_line(summary: dict[str, Any]) -> str:
    """One line for the console: how many panel queries returned data, and which did not."""
    if not summary:
        return "not checked (needs the EFD and Prometheus)"
    line = f"{summary['with_data']} of {summary['queries']} panel queries returned data"
    quiet = summary.get("quiet_failure_tables", [])
    if quiet:
        line += f"; {len(quiet)} failure tables have no rows (nothing went wrong there)"
    empty = [name for name in summary["empty"] if name not in quiet]
    return line + (f"; empty: {', '.join(empty)}" if empty else "")
