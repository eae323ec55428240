"""The night's process supervisor with real `dmcs run` processes: a CSC killed with SIGKILL
is started again and counted, at the CPU priority it was given; a released one may exit for
good; stop_all leaves nothing."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from dmcs.night.supervisor import Supervisor
from dmcs.ocs import walk_to_state
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import TEST
from dmcs.sal.remote import Remote
from dmcs.state_machines.summary_state import State


async def _until_new_heartbeat(domain: Domain, index: int, pid: int) -> None:
    async with Remote(domain, TEST, index, include=["summaryState"]) as remote:
        async with asyncio.timeout(60):
            while (beat := remote.evt("heartbeat").get()) is None or beat.private_origin == pid:
                await asyncio.sleep(0.1)


def _niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


async def test_killed_csc_is_restarted_released_one_exits_and_stop_all_cleans_up(
    sal_env: dict[str, str], domain: Domain, tmp_path: Path
) -> None:
    supervisor = Supervisor({**os.environ, **sal_env}, tmp_path / "logs")
    try:
        first = await supervisor.add("Test", 1, niceness=7)
        second = await supervisor.add("Test", 2)
        await _until_new_heartbeat(domain, 1, 0)
        killed_pid = supervisor.kill("Test:1")
        await _until_new_heartbeat(domain, 1, killed_pid)
        # A restart can itself exit (the killed twin's heartbeat is still fresh): it is
        # simply started again, as a deployment would.
        assert supervisor.restarts()["Test:1"] >= 1 and supervisor.restarts()["Test:2"] == 0
        assert first.pid != killed_pid and first.exits[0] == -9
        assert first.pid is not None and second.pid is not None
        assert (_niceness(first.pid), _niceness(second.pid)) == (7, 0)  # the restart too

        await supervisor.release("Test:2")
        async with Remote(domain, TEST, 2, include=["summaryState"]) as remote:
            await walk_to_state(remote, State.OFFLINE)
        assert await supervisor.wait_exited("Test:2", 30)
        await asyncio.sleep(1)
        assert supervisor.restarts()["Test:2"] == 0 and not second.running
    finally:
        pids = [m.pid for m in supervisor.managed.values() if m.pid]
        await supervisor.stop_all()
    assert not any(_alive(pid) for pid in pids)
    assert "Test:1 running" in (tmp_path / "logs" / "Test-1.log").read_text()
