"""The night's report: what was planned, what happened, and whether everything is accounted for.

"Images" are CCD images (one archived FITS file each). A night is accounted for when every
planned CCD image is in the archive exactly once with good checksums, every science visit
was alerted (with the CCDs that made it) or caught up, every CCD late or failed was taken by
a catch-up job that succeeded, and no visit sent alerts twice.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from dmcs.night.metrics import dashboards_line
from dmcs.night.observer import NightObserver
from dmcs.services.dmcs.daytime import CATCH_UP
from dmcs.state_machines.visit import VisitState

if TYPE_CHECKING:
    from dmcs.services.archiver.audit import Audit


@dataclass
class NightReport:
    visits_planned: int
    visits_alerted: int
    visits_late: int
    visits_caught_up: int
    images_expected: int
    images_read_out: int
    images_archived: int
    images_duplicated: int
    checksum_failures: int
    alerts: int
    duplicate_alerts: int
    ccds_alerted: int
    ccds_late: int
    ccds_failed: int
    ccds_unprocessable: int
    ccds_caught_up: int
    latency_p50_s: float | None
    latency_p98_s: float | None
    restarts: dict[str, int]
    ocps_jobs: list[dict[str, Any]]
    refused_visits: list[str]
    service_faults: list[str]
    script_state: str
    script_reason: str
    interrupted: bool
    elapsed_s: float
    root: str
    efd_report: str = ""
    #: The archive's Butler repository (``butler query-datasets <butler_repo> raw``).
    butler_repo: str = ""
    #: Prompt products published there (``LSSTCam/prompt``), per dataset type.
    prompt_products: dict[str, int] = field(default_factory=dict)
    #: Alerts a broker's consumer read from the stream (night and daytime catch-up).
    alerts_consumed: int = 0
    alert_topic: str = ""
    apdb_url: str = ""
    dashboards: dict[str, Any] = field(default_factory=dict)
    #: With `--brokers N`: what the night saw of its cluster (dmcs.night.cluster_watch).
    cluster: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def accounted_for(self) -> bool:
        return not self.problems

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "accounted_for": self.accounted_for}, indent=2)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.to_json() + "\n")
        tmp.replace(path)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def build_report(observer: NightObserver, archive: Audit | None, *,
                 restarts: dict[str, int], script_state: str, script_reason: str,
                 interrupted: bool, elapsed_s: float, root: Path,
                 efd_report: str = "", dashboards: dict[str, Any] | None = None,
                 butler_repo: str = "", prompt_products: dict[str, int] | None = None,
                 alerts_consumed: int = 0, alert_topic: str = "",
                 apdb_url: str = "", cluster: dict[str, Any] | None = None) -> NightReport:
    science = observer.science()
    latencies = observer.latencies()
    states = [g.state for g in science]
    archived = archive.records if archive is not None else observer.images_archived
    missed = len(observer.ccds_missed)
    caught_up = any(j.purpose == CATCH_UP and j.exit_code == 0 for j in observer.jobs.values())
    report = NightReport(
        visits_planned=len(science),
        visits_alerted=states.count(VisitState.ALERTED),
        visits_late=sum(g.ever_late for g in science),
        visits_caught_up=states.count(VisitState.CAUGHT_UP),
        images_expected=observer.images_expected,
        images_read_out=observer.images_read_out,
        images_archived=archived,
        images_duplicated=len(archive.uncatalogued_files) if archive is not None else 0,
        checksum_failures=len(archive.checksum_failures) if archive is not None else 0,
        alerts=observer.alerts,
        duplicate_alerts=observer.duplicate_alerts,
        ccds_alerted=observer.ccds_alerted,
        ccds_late=observer.ccds_missed_as("late"),
        ccds_failed=observer.ccds_missed_as("failed"),
        ccds_unprocessable=len(observer.ccds_unprocessable),
        ccds_caught_up=missed if caught_up else 0,
        latency_p50_s=percentile(latencies, 50),
        latency_p98_s=percentile(latencies, 98),
        restarts=restarts,
        ocps_jobs=[{"id": j.job_id, "pipeline": j.pipeline, "purpose": j.purpose,
                    "exit_code": j.exit_code} for j in observer.jobs.values()],
        refused_visits=observer.refused,
        service_faults=observer.service_faults,
        script_state=script_state,
        script_reason=script_reason,
        interrupted=interrupted,
        elapsed_s=round(elapsed_s, 1),
        root=str(root),
        efd_report=efd_report,
        dashboards=dashboards or {},
        butler_repo=butler_repo,
        prompt_products=prompt_products or {},
        alerts_consumed=alerts_consumed,
        alert_topic=alert_topic,
        apdb_url=apdb_url,
        cluster=cluster or {},
    )
    report.problems = _problems(report, archive)
    return report


def _problems(r: NightReport, archive: Audit | None) -> list[str]:
    problems = []
    if r.interrupted:
        problems.append("interrupted")
    if r.script_state != "DONE":
        problems.append(f"night script ended {r.script_state}: {r.script_reason}")
    if r.visits_alerted + r.visits_caught_up != r.visits_planned:
        problems.append(f"{r.visits_planned - r.visits_alerted - r.visits_caught_up} of "
                        f"{r.visits_planned} visits neither alerted nor caught up")
    if r.ccds_caught_up < r.ccds_late + r.ccds_failed:
        problems.append(f"{r.ccds_late + r.ccds_failed - r.ccds_caught_up} CCDs late or failed"
                        f" and not caught up")
    if r.images_archived != r.images_expected:
        problems.append(f"{r.images_archived} of {r.images_expected} CCD images archived")
    if archive is None:
        problems.append("no archive repository to audit")
    elif archive.missing_files:
        problems.append(f"{len(archive.missing_files)} catalogued files missing")
    if r.images_duplicated:
        problems.append(f"{r.images_duplicated} duplicated images")
    if r.checksum_failures:
        problems.append(f"{r.checksum_failures} checksum failures")
    if r.alert_topic and r.alerts_consumed < r.alerts:
        problems.append(f"{r.alerts} alerts reported but {r.alerts_consumed} on {r.alert_topic}")
    if r.duplicate_alerts:
        problems.append(f"{r.duplicate_alerts} duplicate alert batches")
    if r.cluster.get("probe_failed"):
        problems.append(f"{r.cluster['probe_failed']} of {r.cluster['probe_commands']} "
                        "commands timed through the cluster failed")
    failed_jobs = [j for j in r.ocps_jobs if j["exit_code"] != 0]
    if failed_jobs:
        problems.append(f"{len(failed_jobs)} daytime jobs did not succeed")
    return problems


def print_summary(report: NightReport, console: Console, path: Path | None) -> None:
    r = report
    latency = (f"p50 {r.latency_p50_s:.1f} s, p98 {r.latency_p98_s:.1f} s (budget 60 s)"
               if r.latency_p50_s is not None and r.latency_p98_s is not None else "-")
    restarts = ", ".join(f"{k} {v}" for k, v in r.restarts.items() if v) or "none"
    jobs = ", ".join(f"{j['pipeline']}={j['exit_code']}" for j in r.ocps_jobs) or "none"
    console.print()
    console.print("[bold]night report[/]")
    rows = [
        ("visits", f"{r.visits_planned} planned, {r.visits_alerted} alerted, "
                   f"{r.visits_late} late, {r.visits_caught_up} caught up"),
        ("CCD images", f"{r.images_expected} expected, {r.images_read_out} read out, "
                       f"{r.images_archived} archived, {r.images_duplicated} duplicated, "
                       f"{r.checksum_failures} checksum failures"),
        ("CCDs", f"{r.ccds_alerted} alerted, {r.ccds_late} late, {r.ccds_failed} failed, "
                 f"{r.ccds_unprocessable} unprocessable, {r.ccds_caught_up} caught up"),
        ("alerts", f"{r.alerts} ({r.duplicate_alerts} duplicate batches); "
                   f"{r.alerts_consumed} read by a broker from {r.alert_topic or '-'}"),
        ("APDB", r.apdb_url or "-"),
        ("latency", latency),
        ("restarts", restarts),
        ("daytime jobs", jobs),
        ("night script", f"{r.script_state} {r.script_reason}".strip()),
        ("elapsed", f"{r.elapsed_s:.0f} s; outputs in {r.root}"),
        ("Butler repo", r.butler_repo or "none (nothing archived)"),
        ("prompt outputs", ", ".join(f"{n} {name}" for name, n in r.prompt_products.items())
         + " in LSSTCam/prompt" if r.prompt_products else "none published"),
        ("EFD report", r.efd_report or "no EFD"),
        ("dashboards", dashboards_line(r.dashboards)),
    ]
    if r.cluster:
        rows.append(("cluster", cluster_line(r.cluster)))
        rows += [(f"  {d['name']}", drill_line(d)) for d in r.cluster["drills"]]
    for label, text in rows:
        console.print(f"  {label:14} {text}")
    verdict = ("[green]every image and every visit accounted for[/]" if r.accounted_for
               else "[red]NOT accounted for:[/] " + "; ".join(r.problems))
    console.print(f"  {verdict}")
    if path is not None:
        console.print(f"  report: {path}")


def cluster_line(cluster: dict[str, Any]) -> str:
    return (f"{cluster['brokers']} Kafka nodes; {cluster['leader_changes']} command-topic "
            f"leader changes, {cluster['client_warnings']} client warnings; "
            f"{cluster['probe_commands']} timed commands ({cluster['probe_failed']} failed), "
            f"longest {cluster['longest_command_s']:.2f} s")


def drill_line(drill: dict[str, Any]) -> str:
    return (f"{drill['seconds']:.0f} s: {drill['leader_changes']} leader changes (to nodes "
            f"{drill['new_leaders']}), {drill['client_retries']} client retries, longest "
            f"command {drill['longest_command_s']:.2f} s ({drill['commands_failed']} of "
            f"{drill['commands']} failed)")
