"""Who used the cores: CPU seconds per process of this benchmark's process tree, from /proc.

`CpuSampler` reads every descendant's user + system time once a second, labelled by what
the process is (`dmcs run Archiver` is "Archiver", the warm pool's ranks "prompt-processing
ranks", the Java broker "broker"...; read again each time, as a child is its parent until it
execs), and keeps the running totals with TAI time stamps, so
a window of the run chosen afterwards (a night's visits, say) can be cut out of it. A process
that ended keeps its last reading, so short-lived ones (batch jobs) count too, within a second.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from dmcs.sal.tai import current_tai

TICKS = os.sysconf("SC_CLK_TCK")
INTERVAL_S = 1.0
#: What a command line says the process is, first match wins (the words must all be in it).
LABELS = (
    (("prompt_processing.rank",), "prompt-processing ranks"),
    (("dmcs.mpi",), "batch job ranks"),
    (("hydra_pmi_proxy",), "mpiexec"),
    (("mpiexec",), "mpiexec"),
    (("kafka.Kafka",), "broker"),
    (("tansu",), "broker"),
    (("influxd",), "InfluxDB"),
    (("prometheus",), "Prometheus"),
    (("dmcs.sal.registry",), "registry"),
    (("multiprocessing",), "benchmark's worker processes"),
)


def own_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of the process itself (not its children); None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


def descendants(pid: int) -> list[int]:
    """Every living process below ``pid``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo += children.get(child, [])
    return found


def label_of(pid: int) -> str:
    """What the process is, from its command line."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return "gone"
    line = " ".join(argv)
    if "run" in argv and any(a.endswith("dmcs") for a in argv):
        after = argv[argv.index("run") + 1:]
        index = after[after.index("--index") + 1] if "--index" in after else ""
        return f"{after[0]}:{index}" if index else after[0]
    for words, label in LABELS:
        if all(word in line for word in words):
            return label
    return f"other: {Path(argv[0]).name}"


class CpuSampler(threading.Thread):
    """Samples this process and its descendants until ``stop()``; see the module docstring."""

    def __init__(self, own_label: str = "benchmark process") -> None:
        super().__init__(daemon=True, name="cpu-sampler")
        self.own_label = own_label
        self.samples: list[tuple[float, dict[str, float]]] = []
        self._last: dict[int, tuple[str, float]] = {}
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(INTERVAL_S):
            self.sample()

    def stop(self) -> None:
        self._stopped.set()
        self.join()
        self.sample()

    def sample(self) -> None:
        me = os.getpid()
        for pid in [me, *descendants(me)]:
            seconds = own_cpu_seconds(pid)
            if seconds is None:
                continue
            self._last[pid] = (self.own_label if pid == me else label_of(pid), seconds)
        totals: dict[str, float] = {}
        for label, seconds in self._last.values():
            totals[label] = totals.get(label, 0.0) + seconds
        self.samples.append((current_tai(), totals))

    def split(self, start_tai: float, end_tai: float) -> dict[str, float]:
        """Cores per label (CPU-seconds per second) between the samples nearest the window's
        ends, busiest first, and the window's length as ``window_s``."""
        inside = [s for s in self.samples if start_tai <= s[0] <= end_tai]
        if len(inside) < 2:
            return {}
        (t0, first), (t1, last) = inside[0], inside[-1]
        cores = {label: round((seconds - first.get(label, 0.0)) / (t1 - t0), 3)
                 for label, seconds in last.items()}
        busiest = dict(sorted(cores.items(), key=lambda item: -item[1]))
        return {**busiest, "window_s": round(t1 - t0, 1)}
