"""`dmcs run` refusing duplicates, `dmcs broker` start/find/stop, `dmcs demo` end to end."""

from __future__ import annotations

import os
from pathlib import Path

from dmcs.cli.errors import ExitCode
from dmcs.csc.test_csc import TestCsc
from dmcs.sal.broker import free_port, is_listening
from dmcs.testing.processes import Cli, CscProcesses


async def test_run_refuses_a_duplicate_instance(cli: Cli, cscs: CscProcesses) -> None:
    await cscs.astart(1)
    result = await cli.arun("run", "Test", "--index", "1")
    assert result.returncode == ExitCode.DUPLICATE
    assert "Test:1 is already running" in result.stderr
    assert "Traceback" not in result.stderr


#: A JVM (Kafka) starting on a loaded 2-core machine.
BROKER_START_S = 120.0


def test_broker_starts_finds_and_stops_the_embedded_broker(tmp_path: Path) -> None:
    port = free_port()
    registry_port = free_port()
    env = {**os.environ, "DMCS_HOME": str(tmp_path), "DMCS_EMBEDDED_BROKER_PORT": str(port),
           "DMCS_EMBEDDED_REGISTRY_PORT": str(registry_port)}
    cli = Cli(env)
    try:
        started = cli("broker", timeout=BROKER_START_S)
        assert started.returncode == 0, started.stderr
        assert f"embedded broker started on 127.0.0.1:{port}" in started.stdout
        assert f"schema registry at http://127.0.0.1:{registry_port}" in started.stdout
        assert f"export LSST_KAFKA_BROKER_ADDR=127.0.0.1:{port} " in started.stdout
        assert is_listening("127.0.0.1", port)
        assert is_listening("127.0.0.1", registry_port)
        found = cli("broker", timeout=BROKER_START_S)
        assert f"already running on 127.0.0.1:{port}" in found.stdout
    finally:
        stopped = cli("broker", "--stop", timeout=BROKER_START_S)
    assert stopped.returncode == 0
    assert "stopped" in stopped.stdout
    assert not is_listening("127.0.0.1", port)
    assert not is_listening("127.0.0.1", registry_port)
    assert "no embedded broker is running" in cli("broker", "--stop").stdout


async def test_demo_runs_to_completion_on_the_private_broker(cli: Cli) -> None:
    result = await cli.arun("demo", "--duration", "1", timeout=60)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"connected to {cli.env['LSST_KAFKA_BROKER_ADDR']}" in out
    for text in ("STANDBY -> DISABLED", "DISABLED -> ENABLED", "int0=42", "INPROGRESS",
                 f"errorCode={TestCsc.FAULT_CODE}", "summaryState=FAULT", "FAULT -> STANDBY",
                 "STANDBY -> OFFLINE", "commands sent", "median", "events seen"):
        assert text in out, text
