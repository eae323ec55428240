"""Building blocks of Grafana dashboard JSON: datasources, targets, panels, variables.

Queries address the EFD as the observatory lays it out: measurement = the schema's namespace
and name (``lsst.sal.<Component>.<topic>``, whatever the topic subname), so a component is
picked by a regular expression over measurement names, and `salIndex` is a field (the index
variable's "All" is -1, which the `index_filter` condition lets through).
"""

from __future__ import annotations

import re
from typing import Any

INFLUX = {"type": "influxdb", "uid": "efd"}
PROMETHEUS = {"type": "prometheus", "uid": "prometheus"}
PANEL_WIDTH = 12
PANEL_HEIGHT = 8
INDEX_FILTER = '("salIndex" = $index OR $index < 0)'


def topics(component: str, topic: str) -> str:
    """A FROM clause matching `topic` of the components `component` (a regex or `$component`)."""
    return f"/^lsst\\.sal\\.({component})\\.{re.escape(topic)}$/"


def influx(query: str, fmt: str = "time_series", alias: str = "") -> dict[str, Any]:
    target = {"datasource": INFLUX, "query": query, "rawQuery": True, "resultFormat": fmt}
    if alias:
        target["alias"] = alias
    return target


def prom(expr: str, legend: str = "") -> dict[str, Any]:
    return {"datasource": PROMETHEUS, "expr": expr, "legendFormat": legend, "range": True}


#: The description of a table that lists failures: no rows is the good case, not a broken query.
FAILURES_ONLY = "Rows appear only when something went wrong: an empty table is good news."


def panel(title: str, targets: list[dict[str, Any]], kind: str = "timeseries",
          description: str = "", unit: str = "", thresholds: list[tuple[float, str]] | None = None,
          options: dict[str, Any] | None = None) -> dict[str, Any]:
    """A panel; its grid position is set when the dashboard is assembled."""
    defaults: dict[str, Any] = {}
    if unit:
        defaults["unit"] = unit
    if thresholds:
        defaults["thresholds"] = {"mode": "absolute", "steps": [
            {"color": color, "value": value} for value, color in thresholds]}
        defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
    for ref, target in zip("ABCDEFGHIJ", targets, strict=False):
        target["refId"] = ref
    datasource = targets[0]["datasource"] if targets else INFLUX
    return {"type": kind, "title": title, "description": description, "datasource": datasource,
            "targets": targets, "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": options or {}}


def component_variable() -> dict[str, Any]:
    """Components found in the EFD (every CSC publishes heartbeats)."""
    pattern = topics("[^.]+", "logevent_heartbeat")
    return {
        "name": "component", "label": "Component", "type": "query", "datasource": INFLUX,
        "query": f"SHOW MEASUREMENTS WITH MEASUREMENT =~ {pattern}",
        "regex": "/^lsst\\.sal\\.([^.]+)\\.logevent_heartbeat$/",
        "multi": True, "includeAll": True, "allValue": "[^.]+", "refresh": 2,
        "current": {"text": "All", "value": "$__all"},
    }


def index_variable(max_index: int = 9) -> dict[str, Any]:
    values = ",".join(str(i) for i in range(max_index + 1))
    return {
        "name": "index", "label": "Index", "type": "custom", "query": values,
        "includeAll": True, "allValue": "-1", "multi": False,
        "current": {"text": "All", "value": "$__all"},
    }


def dashboard(uid: str, title: str, panels: list[dict[str, Any]],
              description: str = "") -> dict[str, Any]:
    """A dashboard with the component and index variables, panels two to a row."""
    for number, item in enumerate(panels):
        item["id"] = number + 1
        item["gridPos"] = {"x": (number % 2) * PANEL_WIDTH, "y": (number // 2) * PANEL_HEIGHT,
                           "w": PANEL_WIDTH, "h": PANEL_HEIGHT}
    return {
        "uid": uid, "title": title, "description": description, "tags": ["dmcs"],
        "timezone": "utc", "schemaVersion": 39, "version": 1, "refresh": "10s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [component_variable(), index_variable()]},
        "panels": panels,
    }


def failure_tables(dash: dict[str, Any]) -> set[str]:
    """Titles of the panels that list failures (see FAILURES_ONLY)."""
    return {p["title"] for p in dash["panels"] if p.get("description") == FAILURES_ONLY}


def targets_of(dash: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(panel title, target) for every query of a dashboard."""
    return [(p["title"], t) for p in dash["panels"] for t in p.get("targets", [])]
