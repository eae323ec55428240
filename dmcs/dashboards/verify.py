"""Prove a dashboard without Grafana: run every panel query against the real databases.

Grafana's macros and variables are substituted as Grafana would for the given time range
(`$timeFilter`, `$__interval`, `$__range`, `$component`, `$index`, …). `dmcs night` and the
tests call :func:`verify_dashboards` after traffic; every query must run and return data.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from dmcs.dashboards.panels import failure_tables, targets_of
from dmcs.telemetry.influx_http import InfluxError, InfluxHttp
from dmcs.telemetry.prometheus_http import PrometheusError, PrometheusHttp

ALL_VARIABLES = {"component": "[^.]+", "index": "-1"}


@dataclass(frozen=True)
class QueryCheck:
    """One panel query as run: how many values it returned, or why it failed."""

    dashboard: str
    panel: str
    source: str  # "influxdb" or "prometheus"
    query: str
    values: int
    error: str = ""
    #: A table of failures (see panels.FAILURES_ONLY): no rows means nothing went wrong.
    failures_only: bool = False

    @property
    def ok(self) -> bool:
        return not self.error and self.values > 0

    def __str__(self) -> str:
        outcome = self.error or ("no data" if not self.values else f"{self.values} values")
        return f"{self.dashboard} / {self.panel}: {outcome}\n    {self.query}"


def substitute(query: str, start: float, end: float,
               variables: dict[str, str] | None = None) -> str:
    """The query as Grafana would send it for the range [start, end] (unix seconds)."""
    span = max(end - start, 1.0)
    interval = max(1, int(span / 200))
    values = {
        "$timeFilter": f"time >= {int(start * 1000)}ms AND time <= {int(end * 1000)}ms",
        "$__interval_ms": str(interval * 1000),
        "$__interval": f"{interval}s",
        "$__rate_interval": f"{max(interval * 4, 60)}s",
        "$__range": f"{math.ceil(span)}s",
    }
    for name, value in {**ALL_VARIABLES, **(variables or {})}.items():
        values[f"${name}"] = value
    for macro in sorted(values, key=len, reverse=True):
        query = query.replace(macro, values[macro])
    return query


async def verify_dashboards(
    dashboards: dict[str, dict[str, Any]], influx_url: str, prometheus_url: str,
    start: float, end: float | None = None, variables: dict[str, str] | None = None,
    database: str = "efd",
) -> list[QueryCheck]:
    """Run every panel query of `dashboards` over [start, end]; one check per query."""
    finish = time.time() if end is None else end
    checks = []
    async with InfluxHttp(influx_url, database) as influx, \
            PrometheusHttp(prometheus_url) as prometheus:
        for name, dash in dashboards.items():
            failures = failure_tables(dash)
            for title, target in targets_of(dash):
                raw = target.get("query") or target.get("expr") or ""
                query = substitute(raw, start, finish, variables)
                source = "prometheus" if "expr" in target else "influxdb"
                try:
                    if source == "prometheus":
                        values = await _prometheus_values(prometheus, query, start, finish)
                    else:
                        values = await _influx_values(influx, query)
                except (InfluxError, PrometheusError) as err:
                    checks.append(QueryCheck(name, title, source, query, 0, str(err)))
                    continue
                checks.append(QueryCheck(name, title, source, query, values,
                                         failures_only=title in failures))
    return checks


async def _influx_values(influx: InfluxHttp, query: str) -> int:
    results = await influx.query(query)
    return sum(1 for r in results for s in r.get("series", []) for row in s["values"]
               if any(v is not None for v in row[1:]))


async def _prometheus_values(prometheus: PrometheusHttp, query: str, start: float,
                             end: float) -> int:
    step = max((end - start) / 200, 0.5)
    series = await prometheus.query_range(query, start, end, step)
    return sum(1 for s in series for _, v in s["values"] if v not in ("NaN", "+Inf", "-Inf"))
