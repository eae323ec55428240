"""Every panel query of every generated dashboard runs against the real InfluxDB and
Prometheus; after a Test CSC's traffic, the overview and EFD writer panels all return data."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from dmcs.dashboards.catalog import all_dashboards
from dmcs.dashboards.panels import targets_of
from dmcs.dashboards.provisioning import export
from dmcs.dashboards.verify import substitute, verify_dashboards
from dmcs.sal.controller import Controller
from dmcs.sal.domain import Domain
from dmcs.sal.interface import Interface
from dmcs.sal.interfaces import ARCHIVER, OCPS, PROMPT_PROCESSING
from dmcs.sal.remote import Remote
from dmcs.telemetry.influx_server import InfluxServer
from dmcs.telemetry.prometheus_server import PrometheusServer
from dmcs.telemetry.testing import efd_writer_csc, prometheus_scraping_this_process
from dmcs.testing import walk_to_enabled

#: Dashboards whose every panel is proven to return data here. The service dashboards
#: (archiving, prompt processing, batch) are proven on their EFD panels, from samples
#: published through the services' own interfaces; their Prometheus panels count what the
#: running services do (images archived, visits by outcome, MPI items), which only a night
#: produces: `dmcs night` takes ~200 s on this 2-core machine (docs/night.md) and runs no
#: Prometheus, far over this folder's ~60 s budget, so those queries are proven to run only.
PROVEN_NOW = ("overview", "efd-writer")

#: (interface, index, event, fields): what the service dashboards' EFD panels read.
SERVICE_EVENTS: tuple[tuple[Interface, int, str, dict[str, Any]], ...] = (
    (ARCHIVER, 0, "imageInOODS", {"obsid": "MC_O_1", "statusCode": 0}),
    (ARCHIVER, 0, "imageInOODS", {"obsid": "MC_O_2", "statusCode": 2,
                                  "description": "checksum mismatch"}),
    (PROMPT_PROCESSING, 0, "visitProcessed", {"groupId": "g1", "latency": 12.5, "alerts": 3}),
    (PROMPT_PROCESSING, 0, "visitLate", {"groupId": "g2", "reason": "deadline passed"}),
    (OCPS, 1, "job_id", {"job_id": "j1"}),
    (OCPS, 1, "job_result", {"job_id": "j1", "exit_code": 0, "result": "{}"}),
)


async def publish_as_services(domain: Domain) -> None:
    """One sample of each event above and of every service telemetry topic, written by
    controllers of the services' interfaces (the path the services publish through)."""
    for interface, index in ((ARCHIVER, 0), (PROMPT_PROCESSING, 0), (OCPS, 1)):
        controller = Controller(domain, interface, index)
        await controller.start(claim_seconds=0.2)
        try:
            for owner, _, name, fields in SERVICE_EVENTS:
                if owner is interface:
                    await controller.evt(name).set_write(**fields)
            for name in interface.telemetry:
                await controller.tel(name).set_write()
        finally:
            await controller.close()


def test_export_writes_provisioning_and_every_dashboard(tmp_path: Path) -> None:
    written = export(tmp_path, "http://efd:8086", "http://prom:9090")
    sources = yaml.safe_load((tmp_path / "provisioning/datasources/dmcs.yaml").read_text())
    assert {d["uid"] for d in sources["datasources"]} == {"efd", "prometheus"}
    names = sorted(p.stem for p in written if p.suffix == ".json")
    assert names == sorted(all_dashboards())
    for path in (p for p in written if p.suffix == ".json"):
        dash = json.loads(path.read_text())
        variables = {v["name"] for v in dash["templating"]["list"]}
        assert variables == {"component", "index"}
        assert targets_of(dash), path


def test_macros_are_substituted_as_grafana_would() -> None:
    query = 'SELECT x FROM /^lsst\\.sal\\.($component)\\.t$/ WHERE $timeFilter ' \
            "AND $index < 0 GROUP BY time($__interval)"
    out = substitute(query, 1000.0, 4600.0, {"component": "Test"})
    assert out == ("SELECT x FROM /^lsst\\.sal\\.(Test)\\.t$/ WHERE time >= 1000000ms AND "
                   "time <= 4600000ms AND -1 < 0 GROUP BY time(18s)")


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[PrometheusServer]:
    with prometheus_scraping_this_process(tmp_path / "prometheus") as server:
        yield server


async def test_every_panel_query_returns_data_after_traffic(
    prometheus: PrometheusServer, influx: InfluxServer, domain: Domain, remote: Remote,
) -> None:
    """An EFDWriter and a Test CSC (in this process, scraped by a real Prometheus) and the
    services' samples: every query runs; every EFD query and every query of the overview and
    EFD writer dashboards returns data."""
    start = time.time() - 5
    database = f"efd_{domain.subname}"
    async with efd_writer_csc(domain, influx.url, database):
        await walk_to_enabled(remote)
        await remote.cmd("setScalars").start(int0=3)
        await remote.cmd("fault").start()
        await publish_as_services(domain)
        dashboards = all_dashboards()
        failing: list[str] = []
        for _ in range(60):  # scrapes every 0.5 s; the EFD writer flushes every 20 ms
            await asyncio.sleep(0.5)
            checks = await verify_dashboards(dashboards, influx.url, prometheus.url, start,
                                             database=database)
            failing = [str(c) for c in checks if c.error or (not c.ok and (
                c.dashboard in PROVEN_NOW or c.source == "influxdb"))]
            if not failing:
                break
    assert not failing, "\n".join(failing)
    by_panel = {(c.dashboard, c.panel): c.values for c in checks}
    assert by_panel["archiving", "Archive failures"] == 1  # the failed CCD, not the good one
    assert by_panel["prompt-processing", "Late visits"] == 1
