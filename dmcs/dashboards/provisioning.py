"""Grafana provisioning files: the EFD and Prometheus datasources, a dashboard provider, and
the dashboards themselves, written to one directory a Grafana can be pointed at."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from dmcs.dashboards.catalog import all_dashboards
from dmcs.dashboards.panels import INFLUX, PROMETHEUS


def datasources(influx_url: str, prometheus_url: str, database: str = "efd") -> dict[str, Any]:
    return {"apiVersion": 1, "datasources": [
        {"name": "EFD", "uid": INFLUX["uid"], "type": "influxdb", "access": "proxy",
         "url": influx_url, "jsonData": {"dbName": database, "httpMode": "GET"}},
        {"name": "Prometheus", "uid": PROMETHEUS["uid"], "type": "prometheus",
         "access": "proxy", "url": prometheus_url, "isDefault": True},
    ]}


def provider(dashboards_dir: Path) -> dict[str, Any]:
    return {"apiVersion": 1, "providers": [
        {"name": "dmcs", "folder": "Data Management", "type": "file",
         "disableDeletion": False, "updateIntervalSeconds": 30,
         "options": {"path": str(dashboards_dir)}},
    ]}


def export(directory: Path, influx_url: str, prometheus_url: str) -> list[Path]:
    """Write `provisioning/{datasources,dashboards}/dmcs.yaml` and `dashboards/*.json`."""
    dashboards_dir = directory / "dashboards"
    written = []
    for sub, content in (("datasources", datasources(influx_url, prometheus_url)),
                         ("dashboards", provider(dashboards_dir.resolve()))):
        path = directory / "provisioning" / sub / "dmcs.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(content, sort_keys=False))
        written.append(path)
    dashboards_dir.mkdir(parents=True, exist_ok=True)
    for name, dash in all_dashboards().items():
        path = dashboards_dir / f"{name}.json"
        path.write_text(json.dumps(dash, indent=2))
        written.append(path)
    return written
