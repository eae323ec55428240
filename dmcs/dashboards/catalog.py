"""The dashboards dmcs ships: overview, archiving, prompt processing, batch jobs, EFD writer.

Service panels are generated from the interface definitions (every numeric field of a
service's telemetry gets a panel), so a new field shows up without editing this file.
"""

from __future__ import annotations

from typing import Any

from dmcs.dashboards.panels import (
    FAILURES_ONLY,
    INDEX_FILTER,
    dashboard,
    influx,
    panel,
    prom,
    topics,
)
from dmcs.sal.interface import Interface, TopicKind
from dmcs.sal.interfaces import ARCHIVER, OCPS, PROMPT_PROCESSING

VISIT_BUDGET_SECONDS = 60
_NUMERIC = {"int", "long", "float", "double"}
WHERE = f"WHERE $timeFilter AND {INDEX_FILTER}"


def _numeric_fields(interface: Interface, topic: str) -> list[str]:
    """User fields of a telemetry topic whose Avro type is a number."""
    spec = interface.spec(TopicKind.TELEMETRY, topic)
    user = set(spec.model.user_fields())
    return [f["name"] for f in spec.schema["fields"]
            if f["type"] in _NUMERIC and f["name"] in user]


def telemetry_panels(interface: Interface) -> list[dict[str, Any]]:
    """One time series per numeric telemetry field of `interface`."""
    panels = []
    for topic in interface.telemetry:
        source = topics(interface.name, topic)
        for name in _numeric_fields(interface, topic):
            query = (f'SELECT mean("{name}") FROM {source} {WHERE} '
                     "GROUP BY time($__interval) fill(none)")
            panels.append(panel(f"{interface.name} {topic}.{name}",
                                [influx(query, alias=name)]))
    return panels


def overview() -> dict[str, Any]:
    comp = "$component"
    state = topics(comp, "logevent_summaryState")
    beat = topics(comp, "logevent_heartbeat")
    fault = topics(comp, "logevent_errorCode")
    logs = topics(comp, "logevent_logMessage")
    selector = '{component=~"$component"}'
    panels = [
        panel("Summary state", [influx(
            f'SELECT last("summaryState") FROM {state} {WHERE} '
            "GROUP BY time($__interval) fill(previous)", alias="$2")],
            description="DISABLED=1, ENABLED=2, FAULT=3, OFFLINE=4, STANDBY=5"),
        panel("Last heartbeat", [influx(
            f'SELECT last("private_efdStamp") * 1000 FROM {beat} {WHERE}', alias="$2")],
            kind="stat", unit="dateTimeFromNow",
            description="How long ago each component last published a heartbeat (1 Hz)."),
        panel("Heartbeats per second", [prom(
            f"sum by (component, index) (rate(dmcs_heartbeats_total{selector}[1m]))",
            "{{component}}:{{index}}")]),
        panel("Faults", [influx(
            f'SELECT "errorCode", "errorReport" FROM {fault} {WHERE} AND "errorCode" != 0',
            fmt="table")], kind="table", description=FAILURES_ONLY),
        panel("Faults (count)", [prom(
            f"sum by (component, index, code) (increase(dmcs_faults_total{selector}[$__range]))"
            " or vector(0)",
            "{{component}}:{{index}} code {{code}}")], kind="bargauge"),
        panel("Log messages, WARNING and above", [influx(
            f'SELECT "level", "name", "message" FROM {logs} {WHERE} AND "level" >= 30',
            fmt="table")], kind="table", description=FAILURES_ONLY),
        panel("Commands by final ack", [prom(
            f"sum by (component, command, ack) "
            f"(increase(dmcs_commands_total{selector}[$__range]))",
            "{{component}} {{command}} {{ack}}")], kind="bargauge"),
        panel("Command duration, 95th percentile since start", [prom(
            f"histogram_quantile(0.95, sum by (le, command) "
            f"(dmcs_command_duration_seconds_bucket{selector}))",
            "{{command}}")], unit="s"),
        panel("Kafka messages per second", [prom(
            "sum by (direction) (rate(dmcs_messages_total[1m]))", "{{direction}}")]),
    ]
    return dashboard("dmcs-overview", "DM overview", panels,
                     "Every component: state, liveness, faults, warnings, commands.")


def archiving() -> dict[str, Any]:
    stored = topics(ARCHIVER.name, "logevent_imageInOODS")
    panels = [
        panel("Images archived per minute", [influx(
            f'SELECT count("statusCode") FROM {stored} {WHERE} '
            "GROUP BY time(1m) fill(0)", alias="CCDs")]),
        panel("Archive failures", [influx(
            f'SELECT "obsid", "raft", "sensor", "statusCode", "description" FROM {stored} '
            f'{WHERE} AND "statusCode" != 0', fmt="table")],
            kind="table", description=FAILURES_ONLY),
        panel("Archive backlog (Prometheus)", [prom("sum(dmcs_archive_backlog)", "backlog")]),
        *telemetry_panels(ARCHIVER),
    ]
    return dashboard("dmcs-archiving", "Archiving", panels)


def prompt_processing() -> dict[str, Any]:
    done = topics(PROMPT_PROCESSING.name, "logevent_visitProcessed")
    late = topics(PROMPT_PROCESSING.name, "logevent_visitLate")
    panels = [
        panel(f"Visit latency against the {VISIT_BUDGET_SECONDS} s budget", [influx(
            f'SELECT "latency" FROM {done} {WHERE}', alias="latency")], unit="s",
            thresholds=[(0, "green"), (VISIT_BUDGET_SECONDS, "red")],
            description="End of readout to last alert sent, per visit."),
        panel("Alerts per visit", [influx(
            f'SELECT "alerts" FROM {done} {WHERE}', alias="alerts")], kind="barchart"),
        panel("Late visits", [influx(
            f'SELECT "groupId", "visit", "reason" FROM {late} {WHERE}', fmt="table")],
            kind="table", description=FAILURES_ONLY),
        panel("Visits by outcome (Prometheus)", [prom(
            "sum by (outcome) (increase(dmcs_visits_total[$__range]))", "{{outcome}}")],
            kind="bargauge"),
        *telemetry_panels(PROMPT_PROCESSING),
    ]
    return dashboard("dmcs-prompt-processing", "Prompt processing", panels)


def batch() -> dict[str, Any]:
    started = topics(OCPS.name, "logevent_job_id")
    results = topics(OCPS.name, "logevent_job_result")
    panels = [
        panel("Jobs started per hour", [influx(
            f'SELECT count("job_id") FROM {started} {WHERE} GROUP BY time(1h) fill(0)',
            alias="jobs")]),
        panel("Job results", [influx(
            f'SELECT "job_id", "exit_code", "result" FROM {results} {WHERE}', fmt="table")],
            kind="table"),
        panel("MPI work items (Prometheus)", [prom(
            "sum by (job, outcome) (increase(dmcs_mpi_items_total[$__range]))",
            "{{job}} {{outcome}}")], kind="bargauge"),
    ]
    return dashboard("dmcs-batch", "Batch jobs", panels)


def efd_writer() -> dict[str, Any]:
    health = topics("EFDWriter", "health")
    panels = [
        panel("Points written per second", [prom(
            "sum(rate(dmcs_efd_points_written_total[1m]))", "points/s")]),
        panel("Lag by topic (top 10)", [prom("topk(10, dmcs_efd_lag_messages)", "{{topic}}")]),
        panel("Batch write latency", [
            prom("histogram_quantile(0.5, sum by (le) (rate(dmcs_efd_batch_seconds_bucket[5m])))",
                 "p50"),
            prom("histogram_quantile(0.99, sum by (le) (rate(dmcs_efd_batch_seconds_bucket[5m])))",
                 "p99")], unit="s"),
        panel("Buffered points and pauses", [
            prom("sum(dmcs_efd_buffered_points)", "buffered"),
            prom("max(dmcs_efd_paused)", "paused")]),
        panel("Errors", [
            prom("sum(increase(dmcs_efd_write_errors_total[$__range]))", "write errors"),
            prom("sum(increase(dmcs_efd_decode_errors_total[$__range])) or vector(0)",
                 "decode errors")], kind="stat"),
        panel("Health telemetry (EFD)", [influx(
            f'SELECT mean("pointsPerSecond") AS "points/s", max("lagTotal") AS "lag" '
            f"FROM {health} WHERE $timeFilter GROUP BY time($__interval) fill(none)")]),
    ]
    return dashboard("dmcs-efd-writer", "EFD writer health", panels)


def all_dashboards() -> dict[str, dict[str, Any]]:
    """Every dashboard, by file stem."""
    builders = (overview, archiving, prompt_processing, batch, efd_writer)
    return {b.__name__.replace("_", "-"): b() for b in builders}
