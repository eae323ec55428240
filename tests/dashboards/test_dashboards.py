"""Every panel query of every generated dashboard runs against the real InfluxDB and
Prometheus; after a Test CSC's traffic, the overview and EFD writer panels all return data."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from dmcs.dashboards.catalog import all_dashboards
from dmcs.dashboards.panels import targets_of
from dmcs.dashboards.provisioning import export
from dmcs.dashboards.verify import substitute, verify_dashboards
from dmcs.sal.broker import free_port
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces.test import TEST
from dmcs.sal.remote import Remote
from dmcs.telemetry.efd_client import EfdClient
from dmcs.telemetry.influx_server import InfluxServer
from dmcs.telemetry.prometheus_server import PrometheusServer
from dmcs.testing import walk_to_enabled

DMCS = str(Path(sys.executable).parent / "dmcs")
PROVEN_NOW = ("overview", "efd-writer")  # the service dashboards need a night's traffic


def test_export_writes_provisioning_and_every_dashboard(tmp_path: Path) -> None:
    written = export(tmp_path, "sal", "http://efd:8086", "http://prom:9090")
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


def _banner(proc: subprocess.Popen[str], timeout: float = 60.0) -> str:
    stream = proc.stdout
    assert stream is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0] if lines else f"no banner within {timeout} s"


@pytest.fixture
def night_like(sal_env: dict[str, str], influx: InfluxServer,
               tmp_path: Path) -> Iterator[PrometheusServer]:
    """Prometheus scraping an EFDWriter and a Test CSC, both `dmcs run` processes."""
    env = {**os.environ, **sal_env, "DMCS_EFD_URL": influx.url, "COLUMNS": "250"}
    runs = {"EFDWriter": ["EFDWriter", "--state", "ENABLED"], "Test:1": ["Test", "--index", "1"]}
    with PrometheusServer(tmp_path / "prometheus", scrape_interval=0.5) as prometheus:
        procs = []
        try:
            for name, args in runs.items():
                port = free_port()
                procs.append(subprocess.Popen([DMCS, "run", *args, "--metrics-port", str(port)],
                                              env=env, stdout=subprocess.PIPE,
                                              stderr=subprocess.DEVNULL, text=True))
                assert "running" in _banner(procs[-1])
                prometheus.config.add_target(name, port)
            yield prometheus  # type: ignore[misc]
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(10)


async def test_every_panel_query_returns_data_after_traffic(
    night_like: PrometheusServer, influx: InfluxServer, domain: Domain,
) -> None:
    start = time.time() - 5
    async with Remote(domain, TEST, 1, include=["summaryState"]) as remote:
        await walk_to_enabled(remote)
        await remote.cmd("setScalars").start(int0=3)
        await remote.cmd("fault").start(errorCode=42)
    dashboards = all_dashboards(domain.subname)
    failing: list[str] = []
    async with EfdClient(influx.url) as efd:
        for _ in range(60):  # scrapes every 0.5 s; the EFD writer flushes every 50 ms
            await asyncio.sleep(0.5)
            checks = await verify_dashboards(dashboards, influx.url, night_like.url, start)
            failing = [str(c) for c in checks if c.error or
                       (c.dashboard in PROVEN_NOW and not c.ok)]
            if not failing:
                break
        assert await efd.get_topics()
    assert not failing, "\n".join(failing)
