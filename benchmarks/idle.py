"""An idle deployment: every CSC of the night ENABLED, no visits; what it costs to wait.

The night's CSCs (camera, header service, script queue, archiver, prompt processing with its
warm MPI ranks, OCPS, telemetry gateway, EFD writer, DMCS) run as `dmcs run` processes on the
night's own configuration, a private broker and registry (and InfluxDB for the EFD writer).
Once all are ENABLED and settled, the CPU time each process (with its children: the MPI ranks)
and the broker use over `--seconds` is read from /proc. Figures are cores: CPU-seconds per
second. The baseline in the same run is the broker alone with nothing connected.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import bench_stack, log_dir, parse_args, report, sal_config, sal_env
from _cpu import descendants

from dmcs.csc.registry import get_interface
from dmcs.night.efd import EFD_WRITER
from dmcs.night.options import NightOptions
from dmcs.night.site import SERVICES, SIMULATORS, write_night_configs
from dmcs.night.supervisor import Supervisor
from dmcs.ocs import walk_to_state
from dmcs.sal.domain import Domain
from dmcs.sal.remote import Remote
from dmcs.state_machines.summary_state import State
from dmcs.telemetry.influx_server import InfluxServer

SETTLE_S = 10.0
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` and of its descendants (alive ones, and reaped ones)."""
    total = 0.0
    for one in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
        total += (utime + stime + cutime + cstime) / TICKS
    return total


def measure(pids: dict[str, int], seconds: float) -> dict[str, float]:
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    t0 = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - t0
    return {name: round((cpu_seconds(pid) - before[name]) / elapsed, 4)
            for name, pid in pids.items()}


async def bring_up(domain: Domain, components: list[str], supervisor: Supervisor,
                   config_root: Path) -> dict[str, int]:
    """Start every component ENABLED; their pids once each says ENABLED."""
    pids = {}
    for label in components:
        name, _, index = label.partition(":")
        managed = await supervisor.add(name, int(index or 0), "--config-dir", str(config_root))
        pids[label] = managed.pid or 0
    for label in components:
        name, _, index = label.partition(":")
        async with Remote(domain, get_interface(name), int(index or 0),
                          include=["summaryState"]) as remote:
            await walk_to_state(remote, State.ENABLED)
    return pids


def main() -> None:
    args = parse_args(__doc__ or "", seconds=(float, 60.0, "seconds measured"))
    root = Path(tempfile.mkdtemp(prefix="dmcs-idle-"))
    figures: dict[str, Any] = {}
    with bench_stack(args.broker_kind) as (broker, registry), \
            InfluxServer(log_dir()) as influx:
        broker_pid = {"broker": broker.pid}
        baseline = measure(broker_pid, min(args.seconds, 20.0))["broker"]
        components = [*SIMULATORS, *SERVICES, EFD_WRITER, "DMCS"]
        options = NightOptions(root=root, visits=0)
        config_root = write_night_configs(options, [*SIMULATORS, *SERVICES],
                                          efd_url=influx.url)
        env = {**os.environ, **sal_env(broker, registry, "idle"),
               "DMCS_HOME": str(root / "home")}
        supervisor = Supervisor(env, root / "logs")

        async def up() -> dict[str, int]:
            async with Domain(sal_config(broker, registry, "idle")) as domain:
                return await bring_up(domain, components, supervisor, config_root)

        loop = asyncio.new_event_loop()
        try:
            pids = loop.run_until_complete(up())
            time.sleep(SETTLE_S)
            per_process = measure({**pids, **broker_pid, "registry": registry_pid(registry)},
                                  args.seconds)
        finally:
            loop.run_until_complete(supervisor.stop_all())
            loop.close()
    broker_cores = per_process.pop("broker")
    figures = {
        "broker": broker.what,
        "per_process": per_process,
        "broker_cores": broker_cores,
        "broker_alone_cores": baseline,
        "total_cores": round(broker_cores + sum(per_process.values()), 4),
        "seconds": args.seconds,
    }
    report(figures, args.json)


def registry_pid(url: str) -> int:
    port = url.rsplit(":", 1)[1]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"dmcs.sal.registry" in cmdline and port.encode() in cmdline:
                return int(entry.name)
    return 0


if __name__ == "__main__":
    main()
