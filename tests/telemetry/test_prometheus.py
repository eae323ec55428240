"""A real Prometheus scrapes running CSC processes; its API returns every required series."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from traffic import Traffic

from dmcs.sal.broker import free_port
from dmcs.sal.domain import Domain
from dmcs.sal.interface import TopicKind
from dmcs.sal.interfaces import TEST
from dmcs.sal.remote import Remote
from dmcs.telemetry.prometheus_config import PrometheusConfig
from dmcs.telemetry.prometheus_http import PrometheusHttp
from dmcs.telemetry.prometheus_server import PrometheusServer
from dmcs.testing import walk_to_enabled

DMCS = str(Path(sys.executable).parent / "dmcs")
STARTUP_TIMEOUT = 60.0
REQUIRED = ("dmcs_summary_state", "dmcs_heartbeats_total", "dmcs_commands_total",
            "dmcs_command_duration_seconds_bucket", "dmcs_messages_total",
            "dmcs_decode_errors_total")


def test_generated_config_passes_promtool(tmp_path: Path) -> None:
    config = PrometheusConfig(tmp_path / "sd", scrape_interval=2.0)
    path = config.write(tmp_path / "prometheus.yml")
    config.add_target("Test:1", 9999)
    result = subprocess.run(["promtool", "check", "config", str(path)], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[PrometheusServer]:
    with PrometheusServer(tmp_path / "prometheus", scrape_interval=0.5) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def csc_processes(sal_env: dict[str, str], tmp_path: Path) -> Iterator[dict[int, int]]:
    """Two Test CSCs (`dmcs run`), each serving /metrics on its own port: index -> port."""
    ports = {1: free_port(), 2: free_port()}
    procs = [subprocess.Popen(
        [DMCS, "run", "Test", "--index", str(index), "--metrics-port", str(port)],
        env={**os.environ, **sal_env, "COLUMNS": "250"}, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True) for index, port in ports.items()]
    try:
        for proc in procs:
            banner = _read_line(proc, STARTUP_TIMEOUT)  # printed once the CSC takes commands
            assert "running" in banner, banner
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    stream = proc.stdout
    assert stream is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0] if lines else f"no banner within {timeout} s"


async def test_prometheus_scrapes_every_required_series_from_csc_processes(
    prometheus: PrometheusServer, csc_processes: dict[int, int], domain: Domain,
) -> None:
    for index, port in csc_processes.items():
        prometheus.config.add_target(f"Test:{index}", port)
    async with Remote(domain, TEST, 1, include=["summaryState"]) as remote:
        await walk_to_enabled(remote)
    # A malformed command makes the CSC count a decode error.
    command = Traffic(domain, TEST.spec(TopicKind.COMMAND, "setScalars"))
    await command.start()
    await command.send_raw(b"\x00 not a command")

    async with PrometheusHttp(prometheus.url) as api:
        expected = {("1", "2"), ("2", "5")}  # (index, summary state) of each process
        missing: list[str] = list(REQUIRED)
        states: set[tuple[str, str]] = set()
        for _ in range(60):  # until both processes have been scraped since the walk
            missing = [name for name in REQUIRED if not await api.query(name)]
            states = {(s["metric"]["index"], s["value"][1])
                      for s in await api.query('dmcs_summary_state{component="Test"}')}
            if not missing and states == expected:
                break
            await asyncio.sleep(0.5)
        assert not missing, f"Prometheus has no {missing}"
        assert states == expected
        enabled = await api.query('dmcs_commands_total{command="enable",ack="COMPLETE"}')
        # Index 1 was enabled once; index 2's series exists at 0 (panels show 0, not "No data").
        assert {s["metric"]["index"]: s["value"][1] for s in enabled} == {"1": "1", "2": "0"}
        scraped = await api.query('up{job="dmcs"}')
        assert sorted(s["metric"]["process"] for s in scraped) == ["Test:1", "Test:2"]
