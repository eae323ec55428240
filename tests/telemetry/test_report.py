"""`dmcs report`: one HTML page of a run, drawn from the real EFD and Prometheus.

The run: a Test CSC walked to ENABLED and faulted, the EFDWriter CSC writing everything (and its
health) to InfluxDB, and visit, late-visit and archive-status events as PromptProcessing and the
Archiver publish them.
"""

from __future__ import annotations

import asyncio
import base64
import io
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pandas as pd
import pytest
from efd_helpers import wait_for_points
from PIL import Image
from traffic import Traffic
from typer.testing import CliRunner

from dmcs.cli.main import app
from dmcs.csc.base_csc import BaseCsc
from dmcs.csc.test_csc import TestCsc
from dmcs.sal.broker import free_port
from dmcs.sal.domain import Domain
from dmcs.sal.interface import TopicKind
from dmcs.sal.interfaces import ARCHIVER, PROMPT_PROCESSING
from dmcs.sal.remote import Remote
from dmcs.telemetry.efd_client import EfdClient
from dmcs.telemetry.influx_server import InfluxServer
from dmcs.telemetry.prometheus_http import PrometheusHttp
from dmcs.telemetry.prometheus_server import PrometheusServer
from dmcs.telemetry.report import SECTIONS, write_report
from dmcs.telemetry.report_data import Line, StateTrack
from dmcs.telemetry.report_plots import lines_png, states_png
from dmcs.telemetry.testing import efd_writer_csc as efd_writer_csc_in
from dmcs.telemetry.testing import prometheus_scraping_this_process
from dmcs.testing import walk_to_enabled

PNG = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def _valid_png(data: bytes) -> tuple[int, int]:
    """The size of a PNG, after PIL has checked it is one."""
    Image.open(io.BytesIO(data)).verify()
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return image.size


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[PrometheusServer]:
    with prometheus_scraping_this_process(tmp_path / "prometheus") as server:
        yield server


@pytest.fixture
async def efd_writer_csc(domain: Domain, influx: InfluxServer,
                         efd: EfdClient) -> AsyncIterator[BaseCsc]:
    async with efd_writer_csc_in(domain, influx.url, efd.influx.database) as csc:
        yield csc


async def test_report_of_a_run_shows_every_section_from_efd_and_prometheus(
    efd_writer_csc: BaseCsc, csc: TestCsc, remote: Remote, domain: Domain, efd: EfdClient,
    influx: InfluxServer, prometheus: PrometheusServer, tmp_path: Path,
) -> None:
    start = time.time() - 2
    await walk_to_enabled(remote)
    await remote.cmd("fault").start()
    processed = await Traffic(domain, PROMPT_PROCESSING.spec(TopicKind.EVENT,
                                                             "visitProcessed")).start()
    await processed.send(0, groupId="visit-A", latency=12.5, alerts=40)
    await processed.send(0, groupId="visit-B", latency=75.0, alerts=7)
    late = await Traffic(domain, PROMPT_PROCESSING.spec(TopicKind.EVENT, "visitLate")).start()
    await late.send(0, groupId="visit-C", reason="deadline passed")
    status = await Traffic(domain, ARCHIVER.spec(TopicKind.TELEMETRY, "archiveStatus")).start()
    for backlog in (0, 4, 9, 2, 0):
        await status.send(0, backlog=backlog)
    assert await wait_for_points(efd, processed.measurement, 2) == 2
    assert await wait_for_points(efd, late.measurement, 1) == 1
    assert await wait_for_points(efd, status.measurement, 5) == 5
    assert await wait_for_points(efd, "lsst.sal.EFDWriter.health", 2) >= 2
    states = "lsst.sal.Test.logevent_summaryState"
    assert await wait_for_points(efd, states, 4) >= 4  # STANDBY, DISABLED, ENABLED, FAULT
    async with PrometheusHttp(prometheus.url) as api:
        for _ in range(60):
            if await api.query("sum(dmcs_efd_lag_messages)"):
                break
            await asyncio.sleep(0.5)
    await asyncio.sleep(1.0)  # one more scrape inside the range

    out = tmp_path / "report" / "run.html"
    written = await asyncio.to_thread(write_report, influx.url, prometheus.url, out,
                                      start=start, end=time.time(),
                                      database=efd.influx.database)
    assert written == out
    page = out.read_text()
    for title in SECTIONS:
        assert f"<h2>{title}</h2>" in page
    assert "No data" not in page
    images = [base64.b64decode(m) for m in PNG.findall(page)]
    assert len(images) == len(SECTIONS)
    for image in images:
        width, height = _valid_png(image)
        assert width >= 600 and height >= 100
    assert "Went to FAULT: Test:1" in page
    assert "EFDWriter" in page
    assert "1 over the 60 s budget (visit-B)" in page
    assert "visit-C (late: deadline passed)" in page
    assert "47 alert(s) from 3 visit(s)" in page
    assert "Archiver archiveStatus.backlog (EFD): peak 9, at the end 0" in page
    assert "EFDWriter health.lagTotal (EFD)" in page
    assert "dmcs_efd_lag_messages (Prometheus)" in page


def test_missing_data_is_said_in_the_page_not_a_failure(influx: InfluxServer,
                                                         tmp_path: Path) -> None:
    """Nothing in the EFD database, and Prometheus down: the page says so."""
    out = tmp_path / "empty.html"
    dead = f"http://127.0.0.1:{free_port()}"
    result = CliRunner(env={"COLUMNS": "250"}).invoke(app, [
        "report", "--efd", influx.url, "--prometheus", dead, "--db", "nothinghere",
        "--last", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(out)
    page = out.read_text()
    assert page.count('class="absent">No data:') == len(SECTIONS)
    assert "PNG" not in page and "base64" not in page
    assert f"Prometheus at {dead}" in page


@pytest.mark.parametrize(("arguments", "message"), [
    (["--start", "2025-02-01", "--end", "2025-01-01"], "empty time range"),
    (["--start", "soonish"], "bad start 'soonish'"),
    (["--last", "5", "--start", "2025-01-01"], "either --last or --start/--end"),
])
def test_bad_time_range_is_one_line(influx: InfluxServer, tmp_path: Path,
                                    arguments: list[str], message: str) -> None:
    result = CliRunner(env={"COLUMNS": "250"}).invoke(app, [
        "report", "--efd", influx.url, "--out", str(tmp_path / "r.html"), *arguments])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output
    assert not (tmp_path / "r.html").exists()


def test_plots_render_as_valid_png_images() -> None:
    t0 = pd.Timestamp("2025-01-31T22:00:00Z")
    times = [t0 + pd.Timedelta(seconds=s) for s in (0, 30, 60, 90)]
    tracks = [StateTrack("Archiver", [(times[0], 5), (times[1], 1), (times[2], 2)]),
              StateTrack("Test:1", [(times[0], 2), (times[2], 3)])]
    width, height = _valid_png(states_png(tracks, times[-1]))
    assert (width, height) == (1000, 190)  # 10 in x (1.2 + 2 x 0.35) in at 100 dpi
    width, height = _valid_png(lines_png([Line("backlog", times, [0, 3, 1, 0])], "CCDs"))
    assert (width, height) == (1000, 350)
