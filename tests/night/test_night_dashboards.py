"""A short night with the EFD and Prometheus: every panel query of every dashboard has data.

The night starts its own InfluxDB, EFD writer and Prometheus (scraping every CSC's own
`/metrics` port through the SD files it writes), and at the end runs every panel query with
Grafana's macros substituted; the JSON report says which returned data.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from dmcs.night.metrics import MetricsPorts, local_prometheus
from dmcs.night.options import NightOptions
from dmcs.night.orchestrator import Night
from dmcs.sal.broker import BrokerProcess, is_listening
from dmcs.testing import unique_subname

#: Panels a clean short night cannot fill, and why: tables of things that went wrong, and
#: service metrics their services do not update yet (no code calls them outside
#: dmcs/telemetry/metrics.py).
NO_DATA_EXPECTED = {
    "overview / Faults": "a clean night has no FAULT (its count panel shows 0)",
    "overview / Log messages, WARNING and above": "a clean night logs no warning",
    "archiving / Archive failures": "a clean night archives every image",
    "prompt-processing / Late visits": "a clean night has no late visit",
}


@pytest.mark.skipif(not (shutil.which("influxd") and shutil.which("prometheus")),
                    reason="needs influxd and prometheus installed")
@pytest.mark.timeout(600)
async def test_every_dashboard_panel_has_data_after_a_short_night(
    broker: BrokerProcess, tmp_path: Path
) -> None:
    root = tmp_path / "night"
    options = NightOptions(root=root, visits=1, ccds=1, ccd_size=256, cadence=10.0,
                           lead_time=3.0, calibrations=1, deadline=20.0,
                           broker=broker.bootstrap_servers, live=False,
                           subname=unique_subname("night"))
    out = io.StringIO()
    night = Night(options, Console(file=out, width=300))
    report = await night.run()
    report.write(options.report_path)
    saved = json.loads(options.report_path.read_text())

    sd_files = sorted(p.name for p in (root / "prometheus" / "sd").glob("*.json"))
    assert "EFDWriter.json" in sd_files and "Archiver.json" in sd_files, sd_files
    archiver = json.loads((root / "prometheus" / "sd" / "Archiver.json").read_text())
    assert archiver[0]["labels"]["component"] == "Archiver"
    assert len(set(night.metrics.ports.values())) == len(night.metrics.ports)

    dashboards = saved["dashboards"]
    assert dashboards["queries"] > 20
    assert set(dashboards["empty"]) <= set(NO_DATA_EXPECTED), dashboards["empty"]
    assert dashboards["with_data"] == dashboards["queries"] - len(dashboards["empty"])
    assert "panel queries returned data" in out.getvalue()
    assert Path(saved["efd_report"]).exists(), saved["efd_report"]
    prometheus_port = int(night.prometheus.rsplit(":", 1)[1]) if night.prometheus else 0
    assert prometheus_port and not is_listening("127.0.0.1", prometheus_port)


def test_without_prometheus_the_sd_files_are_still_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no prometheus binary to be found
    with local_prometheus(tmp_path, wanted=True) as url:
        assert url is None
    ports = MetricsPorts(tmp_path)
    assert ports.args("OCPS", 1) == ["--metrics-port", str(ports.ports["OCPS:1"])]
    entry = json.loads((tmp_path / "prometheus" / "sd" / "OCPS_1.json").read_text())
    assert entry == [{"targets": [f"127.0.0.1:{ports.ports['OCPS:1']}"],
                      "labels": {"process": "OCPS:1", "component": "OCPS", "index": "1"}}]
