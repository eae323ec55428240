"""The night's Prometheus wiring and dashboards line without a night.

A whole night with the EFD, Prometheus and every dashboard panel query is in
test_night_drills.py (one night carries the drills and the dashboards).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dmcs.night.metrics import MetricsPorts, dashboards_line, local_prometheus


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


def test_console_line_tells_empty_failure_tables_from_panels_without_data() -> None:
    summary = {"queries": 41, "with_data": 36,
               "empty": ["overview / Faults", "archiving / Archive failures",
                         "batch / Jobs: no such measurement"],
               "quiet_failure_tables": ["overview / Faults", "archiving / Archive failures"]}
    line = dashboards_line(summary)
    assert line == ("36 of 41 panel queries returned data; 2 failure tables have no rows "
                    "(nothing went wrong there); empty: batch / Jobs: no such measurement")
    assert dashboards_line({}) == "not checked (needs the EFD and Prometheus)"
