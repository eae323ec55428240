"""Whole nights, every CSC its own process, with the failures made to happen.

One small night (3 visits, one 256-pixel CCD, one dusk calibration) carries every drill and
the dashboards, so the suite pays for one night's start and end: an operator pauses and
resumes the night script; the Archiver is SIGKILLed after the first visit is read out
(restarted, catch-up, every image once); the DMCS is SIGKILLed after the second (restarted,
re-enabled, resumes from its book); prompt processing's ranks are killed as fast as it
restarts them during the third (its CCD runs out of ranks, the visit goes late and is caught
up by the OCPS, its alerts sent once). The report must account for everything and nothing may
be left running. The night runs its own InfluxDB, EFD writer and Prometheus (scraping every
CSC's `/metrics` through the SD files it writes) and at the end runs every panel query of
every dashboard with Grafana's macros substituted: each must return data, the late-visit and
warning tables included (the drills fill them). A second test interrupts `dmcs night` with
SIGINT.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from lsst.daf.butler import Butler
from night_drill import NightDrill
from night_topics import read_night_topics
from rich.console import Console

from dmcs.butler.raws import all_raws
from dmcs.night.observer import Group
from dmcs.night.options import NightOptions
from dmcs.night.orchestrator import NIGHT_SCRIPT_INDEX, Night
from dmcs.sal.broker import BrokerProcess, is_listening
from dmcs.sal.interfaces import SCRIPT
from dmcs.sal.registry.process import RegistryProcess
from dmcs.sal.remote import Remote
from dmcs.state_machines.script_state import ScriptState
from dmcs.testing import unique_subname, wait_for_sample

pytestmark = pytest.mark.solo

DMCS = str(Path(sys.executable).parent / "dmcs")
#: The drill night's CCD size: 256 px in the suite; ``DMCS_DRILL_CCD_SIZE=4096`` runs the same
#: drills at the camera's real size (docs/night.md: ~20 minutes here).
DRILL_CCD_SIZE = int(os.environ.get("DMCS_DRILL_CCD_SIZE", "256"))
SETTLED = ("late", "alerted", "caught_up")
#: Panels the drill night cannot fill, and why: nothing in it goes to FAULT or fails to archive
#: (tests/dashboards fills both from injected samples and checks them).
NO_DATA_EXPECTED = {
    "overview / Faults": "no component goes to FAULT in the drills (its count panel shows 0)",
    "archiving / Archive failures": "a killed Archiver catches up: every image is archived",
}
REPORT_KEYS = {"visits_planned", "visits_alerted", "visits_late", "visits_caught_up",
               "images_expected", "images_archived", "images_duplicated", "checksum_failures",
               "alerts", "duplicate_alerts", "latency_p50_s", "latency_p98_s", "restarts",
               "ocps_jobs", "ccds_alerted", "ccds_late", "ccds_failed", "ccds_caught_up",
               "butler_repo", "prompt_products"}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def _pids_mentioning(*words: str) -> list[int]:
    """Live processes whose command line holds every word (found through /proc)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if all(word in cmdline for word in words) and _alive(int(proc.name)):
            pids.append(int(proc.name))
    return pids


def _rank_pids(root: Path) -> list[int]:
    """The prompt-processing worker ranks of this night (found by their pool file)."""
    return _pids_mentioning("--worker", str(root))


class Drills(NightDrill):
    """Waits for moments of the night and breaks things, noting what it did."""

    def __init__(self, night: Night) -> None:
        super().__init__(night)
        self.paused_groups: int | None = None

    async def run(self) -> None:
        night = self.night
        await self.until(lambda: len(self.science()) >= 1 and self.science()[0].read_out)
        await self.pause_and_resume()
        assert night.supervisor is not None
        night.supervisor.kill("Archiver")
        self.done.append("archiver killed")
        # The DMCS must see the Archiver's restart before it is killed itself (a niced
        # Archiver restarting under load can take longer than a visit).
        await self.until(lambda: any(f.startswith("Archiver") for f in self.service_faults()))
        await self.until(lambda: len(self.science()) >= 2 and self.science()[1].read_out)
        night.supervisor.kill("DMCS")
        self.done.append("dmcs killed")
        await self.until(lambda: len(self.science()) >= 3)
        await self.kill_ranks_until_settled(self.science()[2])

    def service_faults(self) -> list[str]:
        return self.night.observer.service_faults if self.night.observer else []

    async def kill_ranks_until_settled(self, visit: Group) -> None:
        """Kill prompt processing's ranks as fast as it starts them, until the visit is
        settled: its work items run out of ranks to try, and the visit goes late."""
        root = self.night.options.root.resolve()
        kills = 0
        async with asyncio.timeout(300):
            while visit.state not in SETTLED:
                for pid in _rank_pids(root):
                    os.kill(pid, signal.SIGKILL)
                    kills += 1
                await asyncio.sleep(0.3)
        self.done.append(f"{kills} rank kills, visit {visit.state}")

    async def pause_and_resume(self) -> None:
        night = self.night
        assert night.domain is not None and night.observer is not None
        async with Remote(night.domain, SCRIPT, NIGHT_SCRIPT_INDEX, include=["state"]) as script:
            await script.cmd("pause").start()
            await wait_for_sample(script.evt("state"), state=int(ScriptState.PAUSED), timeout=60)
            taken = sum(len(g.read_out) for g in night.observer.groups.values())
            await asyncio.sleep(3)
            self.paused_groups = sum(len(g.read_out) for g in night.observer.groups.values())
            assert self.paused_groups == taken, "the camera kept taking images while paused"
            await script.cmd("resume").start()
            await wait_for_sample(script.evt("state"), state=int(ScriptState.RUNNING))
        self.done.append("paused and resumed")


def decode_every_message(broker: BrokerProcess, registry_url: str, subname: str
                         ) -> dict[str, int]:
    """Messages decoded per topic of `subname`, by confluent-kafka alone."""
    counts: dict[str, int] = {}
    for topic, _ in read_night_topics(broker.bootstrap_servers, registry_url, subname):
        counts[topic] = counts.get(topic, 0) + 1
    return counts


@pytest.mark.skipif(not (shutil.which("influxd") and shutil.which("prometheus")),
                    reason="needs influxd and prometheus installed")
@pytest.mark.timeout(900 if DRILL_CCD_SIZE <= 1024 else 2400)
async def test_night_survives_kills_and_every_dashboard_panel_has_data(
    broker: BrokerProcess, registry: RegistryProcess, tmp_path: Path
) -> None:
    root = tmp_path / "night"
    full_size = DRILL_CCD_SIZE > 1024  # a 4k CCD is ~7-10 s on a rank: the real cadence
    options = NightOptions(root=root, visits=3, ccds=1, ccd_size=DRILL_CCD_SIZE,
                           cadence=60.0 if full_size else 15.0, lead_time=5.0,
                           calibrations=1, deadline=60.0 if full_size else 20.0,
                           broker=broker.bootstrap_servers, live=False,
                           subname=unique_subname("night"))
    out = io.StringIO()
    night = Night(options, Console(file=out, width=300))
    drills = Drills(night)
    drill_task = asyncio.ensure_future(drills.run())
    report = await night.run()
    await asyncio.wait_for(drill_task, 10)
    assert drills.done[:3] == ["paused and resumed", "archiver killed", "dmcs killed"]
    assert drills.done[3].endswith("visit late"), drills.done

    assert report.restarts["Archiver"] >= 1 and report.restarts["DMCS"] >= 1
    assert report.visits_planned == 3
    assert report.visits_late >= 1
    assert report.visits_alerted + report.visits_caught_up == 3
    assert report.images_archived == report.images_expected >= 6  # 3 visits x 2 snaps
    assert (report.images_duplicated, report.checksum_failures) == (0, 0)
    raws = all_raws(Butler.from_config(report.butler_repo))  # exactly once, as the Butler says
    assert len({(r.dataId["exposure"], r.dataId["detector"]) for r in raws}) == len(raws) \
        == report.images_expected
    assert _prompt_products(report.butler_repo) == {
        (name, visit) for name in ("calexp", "diffim", "src", "diasrc") for visit in (1, 2, 3)}
    assert report.prompt_products == {"calexp": 3, "diffim": 3, "src": 3, "diasrc": 3}
    masters = Butler.from_config(report.butler_repo).query_datasets(
        "flat", collections="LSSTCam/calib", find_first=False, explain=False)
    assert len(masters) >= 1, "the dusk flat, certified where prompt processing can find it"
    assert report.duplicate_alerts == 0
    assert report.ccds_late + report.ccds_failed >= 1, "the rank-killed CCD, reported alone"
    assert report.ccds_caught_up == report.ccds_late + report.ccds_failed
    catch_up = [j for j in report.ocps_jobs if j["pipeline"] == "catch-up-late"]
    assert catch_up and catch_up[0]["exit_code"] == 0
    assert report.accounted_for, report.problems
    assert night.supervisor is not None
    assert not any(_alive(m.pid) for m in night.supervisor.managed.values() if m.pid)
    assert not _rank_pids(options.root.resolve())

    report.write(options.report_path)
    saved = json.loads(options.report_path.read_text())
    assert set(saved) >= REPORT_KEYS, REPORT_KEYS - set(saved)
    sd_files = sorted(p.name for p in (root / "prometheus" / "sd").glob("*.json"))
    assert "EFDWriter.json" in sd_files and "Archiver.json" in sd_files, sd_files
    archiver = json.loads((root / "prometheus" / "sd" / "Archiver.json").read_text())
    assert archiver[0]["labels"]["component"] == "Archiver"
    assert len(set(night.metrics.ports.values())) == len(night.metrics.ports)
    dashboards = saved["dashboards"]
    assert dashboards["queries"] > 20
    assert set(dashboards["empty"]) <= set(NO_DATA_EXPECTED), dashboards["empty"]
    assert dashboards["quiet_failure_tables"] == dashboards["empty"]
    assert dashboards["with_data"] == dashboards["queries"] - len(dashboards["empty"])
    assert "panel queries returned data" in out.getvalue()
    assert Path(saved["efd_report"]).exists(), saved["efd_report"]
    prometheus_port = int(night.prometheus.rsplit(":", 1)[1]) if night.prometheus else 0
    assert prometheus_port and not is_listening("127.0.0.1", prometheus_port)

    counts = await asyncio.to_thread(decode_every_message, broker, registry.url,
                                     options.subname or "sal")
    assert sum(counts.values()) > 1000 and len(counts) > 50, counts  # every topic decoded
    assert counts[f"lsst.{options.subname}.PromptProcessing.logevent_visitProcessed"] >= 1


def _prompt_products(repo: str) -> set[tuple[str, int]]:
    """(dataset type, visit) of every prompt product in the night's chain; each read back."""
    butler = Butler.from_config(repo)
    found = set()
    for name in ("calexp", "diffim", "src", "diasrc"):
        for ref in butler.query_datasets(name, collections="LSSTCam/prompt", explain=False):
            assert butler.get(ref) is not None
            found.add((name, int(ref.dataId["visit"])))
    return found


@pytest.mark.timeout(300)
def test_sigint_brings_the_night_down_and_writes_the_report(tmp_path: Path) -> None:
    root = tmp_path / "night"
    env = {**os.environ, "DMCS_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen([DMCS, "night", "--visits", "2", "--ccds", "1", "--ccd-size",
                             "256", "--root", str(root), "--no-live", "--no-efd"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    lines = []
    broker_port = 0
    for line in proc.stdout:
        lines.append(line)
        if "private broker on" in line:
            broker_port = int(line.split("127.0.0.1:")[1].split()[0])
        if "every CSC is up" in line:
            break
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    output = "".join(lines) + out
    assert proc.returncode == 130, output
    report = json.loads((root / "night-report.json").read_text())
    assert set(report) >= REPORT_KEYS
    assert report["interrupted"] is True and report["accounted_for"] is False
    assert "NOT accounted for: interrupted" in output
    assert not is_listening("127.0.0.1", broker_port)
    assert not _pids_mentioning(str(root))
