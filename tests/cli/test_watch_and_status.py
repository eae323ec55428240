"""`dmcs watch` and `dmcs status`: what an operator sees of running and stopped CSCs."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess

import dmcs
from dmcs.sal.liveness import HEARTBEAT_ALIVE_SECONDS
from dmcs.testing.processes import Cli, CscProcesses, read_line


async def test_watch_count_shows_history_then_new_samples(cli: Cli, cscs: CscProcesses) -> None:
    await cscs.astart(1, "--state", "enabled")
    state = await cli.arun("watch", "Test:1", "summaryState", "--count", "1")
    assert state.returncode == 0, state.stderr
    assert re.search(r"^\d\d:\d\d:\d\d\.\d{3}  logevent_summaryState\s+1  summaryState=ENABLED$",
                     state.stdout, re.MULTILINE), state.stdout

    assert (await cli.arun("command", "Test:1", "setScalars", "int0=5")).returncode == 0
    watcher = cli.popen("watch", "Test:1", "scalars", "--count", "3", "--timeout", "20",
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = await asyncio.to_thread(read_line, watcher.stdout, 15)
        assert "logevent_scalars" in first and "int0=5" in first
        sent = await cli.arun("command", "Test:1", "setScalars", "int0=99", "string0=x y")
        assert sent.returncode == 0, sent.stderr
        rest, _ = await asyncio.to_thread(watcher.communicate, timeout=15)
    finally:
        watcher.kill()
    assert watcher.returncode == 0
    lines = rest.splitlines()
    assert len(lines) == 2
    assert {line.split()[1] for line in lines} == {"logevent_scalars", "scalars"}
    assert all("int0=99" in line and "string0='x y'" in line for line in lines)
    assert all("private_" not in line for line in lines)


async def test_watch_gives_up_after_timeout_with_a_clear_line(cli: Cli) -> None:
    result = await cli.arun("watch", "Test:7", "scalars", "--count", "1", "--timeout", "0.5")
    assert result.returncode != 0
    assert "Test:7 is not running" in result.stderr
    assert "saw 0 of 1 samples" in result.stderr


async def test_status_lists_running_and_marks_stopped_components(
    cli: Cli, cscs: CscProcesses
) -> None:
    await cscs.astart(1)
    stopped = await cscs.astart(2, "--state", "disabled")
    stopped.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(stopped.wait, 10) == 0
    assert stopped.stdout is not None and "received SIGTERM" in stopped.stdout.read()
    await asyncio.sleep(HEARTBEAT_ALIVE_SECONDS + 0.5)

    result = await cli.arun("status", "--timeout", "0.5")
    assert result.returncode == 0, result.stderr
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines()
            if line.startswith("│")}
    assert set(rows) == {"Test:1", "Test:2"}
    assert "STANDBY" in rows["Test:1"] and dmcs.__version__ in rows["Test:1"]
    assert re.search(r"OFFLINE \(stopped cleanly, last seen [\d.]+ s ago\)", rows["Test:2"])
