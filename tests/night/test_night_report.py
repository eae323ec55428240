"""The report and live table from the events a night publishes: what counts as accounted
for, and what an operator sees when something is missing or duplicated."""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console

from dmcs.night.live import render
from dmcs.night.observer import NightObserver
from dmcs.night.report import NightReport, build_report, print_summary
from dmcs.night.supervisor import Managed, Supervisor
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import ARCHIVER, DMCS, MT_CAMERA, PROMPT_PROCESSING, SCRIPT_QUEUE
from dmcs.services.archiver.audit import Audit
from dmcs.state_machines.summary_state import State

NextVisitEvent = SCRIPT_QUEUE.events["nextVisit"]
EndReadoutEvent = MT_CAMERA.events["endReadout"]
ImageInOODSEvent = ARCHIVER.events["imageInOODS"]
VisitProcessedEvent = PROMPT_PROCESSING.events["visitProcessed"]
VisitStateEvent = DMCS.events["visitState"]
DaytimeJobEvent = DMCS.events["daytimeJob"]
CcdLateEvent = PROMPT_PROCESSING.events["ccdLate"]
CcdUnprocessableEvent = PROMPT_PROCESSING.events["ccdUnprocessable"]
ServiceStatesEvent = DMCS.events["serviceStates"]


def _night(domain: Domain, *, alerts_twice: bool) -> NightObserver:
    observer = NightObserver(domain, ccds=1)
    observer._next_visit(NextVisitEvent(groupId="d_flat_0001", nimages=1, survey="calibration"))
    for n in (1, 2):
        group = f"d_science_000{n}"
        observer._next_visit(NextVisitEvent(groupId=group, nimages=1, survey="WFD"))
        observer._end_readout(EndReadoutEvent(imageName=f"im{n}", additionalKeys="groupId",
                                              additionalValues=group))
        observer._image_in_oods(ImageInOODSEvent(obsid=f"im{n}", raft="R22", sensor="S11"))
        observer._visit_processed(VisitProcessedEvent(groupId=group, alerts=5,
                                                      latency=2.0 * n, ccdsAlerted=1))
        observer._visit_state(VisitStateEvent(groupId=group, state="alerted"))
    if alerts_twice:
        observer._visit_processed(VisitProcessedEvent(groupId="d_science_0002", alerts=5))
    observer._next_visit(NextVisitEvent(groupId="d_science_0003", nimages=0, survey="WFD"))
    observer._daytime_job(DaytimeJobEvent(jobId="j1", pipeline="calib-bias", exitCode=0))
    observer._service_states(ServiceStatesEvent(services="Archiver,OCPS:1", states="2,3"))
    return observer


def _report(observer: NightObserver, archive: Audit, tmp_path: Path) -> NightReport:
    return build_report(observer, archive, restarts={"Archiver": 1}, script_state="DONE",
                        script_reason="done", interrupted=False, elapsed_s=10.0, root=tmp_path)


async def test_accounted_night_and_its_json(domain: Domain, tmp_path: Path) -> None:
    observer = _night(domain, alerts_twice=False)
    report = _report(observer, Audit(records=3, files=3), tmp_path)
    assert report.accounted_for, report.problems
    assert (report.visits_planned, report.visits_alerted, report.images_expected,
            report.alerts, report.refused_visits) == (2, 2, 3, 10, ["d_science_0003"])
    path = tmp_path / "r" / "night.json"
    report.write(path)
    assert '"accounted_for": true' in path.read_text()
    console = Console(record=True, width=120)
    print_summary(report, console, path)
    assert "every image and every visit accounted for" in console.export_text()


async def test_missing_image_duplicate_alerts_and_bad_checksum_are_named(
    domain: Domain, tmp_path: Path
) -> None:
    observer = _night(domain, alerts_twice=True)
    archive = Audit(records=2, files=3, checksum_failures=["im1: md5"],
                    uncatalogued_files=["/x/im2_copy.fits"])
    report = _report(observer, archive, tmp_path)
    assert not report.accounted_for
    assert report.problems == [
        "2 of 3 CCD images archived", "1 duplicated images", "1 checksum failures",
        "1 duplicate alert batches"]
    console = Console(record=True, width=160)
    supervisor = Supervisor(dict(os.environ), tmp_path / "logs")
    console.print(render(observer, supervisor, "RUNNING at d_science_0002", 12.0))
    table = console.export_text()
    assert "2 announced, 2 alerted, 0 late" in table
    assert "p50 3.0 s, p98 4.0 s" in table and "calib-bias:exit 0" in table


async def test_live_table_shows_each_csc_state_as_it_said_it(
    domain: Domain, tmp_path: Path
) -> None:
    observer = _night(domain, alerts_twice=False)
    observer.service_states = {"Archiver": State.DISABLED}
    supervisor = Supervisor(dict(os.environ), tmp_path / "logs")
    for name in ("Archiver", "EFDWriter", "MTCamera"):
        supervisor.managed[name] = Managed(name)
    console = Console(record=True, width=160)
    console.print(render(observer, supervisor, "RUNNING", 1.0,
                         own_states={"Archiver": State.ENABLED, "EFDWriter": State.ENABLED}))
    rows = {line.split("│")[1].strip(): line for line in console.export_text().splitlines()
            if line.startswith("│")}
    assert "ENABLED" in rows["Archiver"]  # its own word over the DMCS's older relay
    assert "ENABLED" in rows["EFDWriter"]  # not managed by the DMCS, still shown
    assert rows["MTCamera"].split("│")[2].strip() == "-"  # nothing heard yet


async def test_in_progress_follows_calibrations_to_readout_and_visits_to_alerts(
    domain: Domain,
) -> None:
    observer = NightObserver(domain, ccds=1)
    observer._next_visit(NextVisitEvent(groupId="d_flat_0001", nimages=1, survey="calibration"))
    assert observer.in_progress() == "d_flat_0001"  # announced, images to come
    observer._end_readout(EndReadoutEvent(imageName="im0", additionalKeys="groupId",
                                          additionalValues="d_flat_0001"))
    assert observer.in_progress() == "-"  # every image read out: nothing more to follow
    observer._next_visit(NextVisitEvent(groupId="d_science_0001", nimages=1, survey="WFD"))
    assert observer.in_progress() == "-"  # announced only
    observer._end_readout(EndReadoutEvent(imageName="im1", additionalKeys="groupId",
                                          additionalValues="d_science_0001"))
    assert observer.in_progress() == "d_science_0001"
    observer._visit_state(VisitStateEvent(groupId="d_science_0001", state="alerted"))
    assert observer.in_progress() == "-"


async def test_ccds_late_failed_and_unprocessable_are_counted_and_must_be_caught_up(
    domain: Domain, tmp_path: Path
) -> None:
    observer = NightObserver(domain, ccds=4)
    group = "d_science_0001"
    observer._next_visit(NextVisitEvent(groupId=group, nimages=1, survey="WFD"))
    observer._end_readout(EndReadoutEvent(imageName="im1", additionalKeys="groupId",
                                          additionalValues=group))
    for sensor in ("S11", "S12", "S21", "S22"):
        observer._image_in_oods(ImageInOODSEvent(obsid="im1", raft="R22", sensor=sensor))
    observer._ccd_late(CcdLateEvent(groupId=group, detector="R22_S21", kind="late"))
    observer._ccd_late(CcdLateEvent(groupId=group, detector="R22_S21", kind="late"))  # again
    observer._ccd_late(CcdLateEvent(groupId=group, detector="R22_S22", kind="failed"))
    observer._ccd_unprocessable(CcdUnprocessableEvent(groupId=group, detector="R22_S12"))
    observer._visit_processed(VisitProcessedEvent(groupId=group, alerts=3, latency=9.0,
                                                  ccdsAlerted=1, ccdsLate=1, ccdsFailed=1,
                                                  ccdsUnprocessable=1, status="partial"))
    observer._visit_state(VisitStateEvent(groupId=group, state="alerted"))
    report = _report(observer, Audit(records=4, files=4), tmp_path)
    assert (report.ccds_alerted, report.ccds_late, report.ccds_failed,
            report.ccds_unprocessable, report.ccds_caught_up) == (1, 1, 1, 1, 0)
    assert report.visits_alerted == 1
    assert report.problems == ["2 CCDs late or failed and not caught up"]
    observer._daytime_job(DaytimeJobEvent(jobId="j2", pipeline="catch-up-late",
                                          purpose="catch-up", exitCode=0))
    report = _report(observer, Audit(records=4, files=4), tmp_path)
    assert report.ccds_caught_up == 2 and report.accounted_for, report.problems
