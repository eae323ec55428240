"""Alert-production CPU per 4k x 4k CCD on one core, stage by stage, against a baseline tree.

Each measurement runs in a child process pinned to one core: the payload processes visit 1
untimed (imports, caches, calibrations), then visit 2 with every stage's CPU seconds (user +
system, from getrusage), page faults and wall seconds recorded. The raws of the timed visit
are rendered beforehand into a render cache, as the camera's are before a night, so ``raws``
is a DAQ-like read; where the code has no render cache (an older tree) they are simulated
(``simulate``). The payload's figure excludes the raws and ``truth`` (a test-only step).

``--baseline DIR`` measures another tree of the code (e.g. ``git archive <commit> | tar -x
-C /tmp/base``) the same way, alternating with this tree round by round, so the machine's
load weighs on both alike: the ratio holds better than the absolutes on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

TARGET_CPU_SECONDS = 7.0
FOCAL_PLANE_CCDS = 189
LATENCY_BUDGET_SECONDS = 60.0
#: Stages that are not the payload's own work on the DM path.
NOT_PAYLOAD = ("raws", "simulate", "truth")
WRITING = ("write",)
ONE_CORE = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def measure(detector_size: int, detector: str, workdir: Path) -> dict[str, Any]:
    """The child: one warm visit, then the timed one; figures of the timed visit."""
    import resource
    import time
    from contextlib import contextmanager

    import dmcs.payloads.stage_timer as stage_timer
    from dmcs.payloads.association.alert_production import AlertProductionPipeline

    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    usage: dict[str, dict[str, float]] = {}
    timed_stage = stage_timer.StageTimer.stage

    @contextmanager
    def stage(self: Any, name: str) -> Any:
        before, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        with timed_stage(self, name):
            yield
        after = resource.getrusage(resource.RUSAGE_SELF)
        figures = usage.setdefault(name, {"cpu": 0.0, "sys": 0.0, "wall": 0.0, "faults": 0})
        figures["cpu"] += after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        figures["sys"] += after.ru_stime - before.ru_stime
        figures["wall"] += time.perf_counter() - wall
        figures["faults"] += after.ru_minflt - before.ru_minflt

    stage_timer.StageTimer.stage = stage  # type: ignore[method-assign]
    config = {"detector_size": detector_size, "detectors": [detector]}
    try:
        pipeline = AlertProductionPipeline(
            config | {"render_cache": str(workdir / "render_cache")}, workdir / "out"
        )
        cached = True
    except ValueError:
        pipeline, cached = AlertProductionPipeline(config, workdir / "out"), False
    pipeline.setup()
    pipeline.run_item(f"visit=1 detector={detector}")
    if cached:
        cache = pipeline.simulator.cache  # type: ignore[union-attr]
        for snap in range(cache.simulator.model.snaps_per_visit):
            cache.science_snap(2, pipeline.focal_plane.detector(detector), snap)
    usage.clear()
    result = pipeline.run_item(f"visit=2 detector={detector}")
    return {
        "stages": usage,
        "bytes_written": sum(Path(p).stat().st_size for p in result["outputs"]),
        "n_sources": result["n_sources"],
        "n_diasources": result["n_diasources"],
    }


def run_child(tree: Path | None, detector_size: int, detector: str) -> dict[str, Any]:
    env = {**os.environ, **ONE_CORE}
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    with tempfile.TemporaryDirectory() as workdir:
        command = [sys.executable, __file__, "--child", workdir,
                   "--detector-size", str(detector_size), "--detector", detector]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False,
                              cwd=workdir)
    if done.returncode != 0:
        raise RuntimeError(f"measurement of {tree or 'this tree'} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over rounds, per stage and in total."""
    stages = list(runs[0]["stages"])
    per_stage = {
        name: {
            key: statistics.median(run["stages"][name][key] for run in runs)
            for key in ("cpu", "sys", "wall", "faults")
        }
        for name in stages
    }
    payload = [name for name in stages if name not in NOT_PAYLOAD]
    science = [name for name in payload if name not in WRITING]
    return {
        "stage_cpu_s": {name: per_stage[name]["cpu"] for name in stages},
        "stage_sys_s": {name: per_stage[name]["sys"] for name in stages},
        "stage_wall_s": {name: per_stage[name]["wall"] for name in stages},
        "page_faults": sum(per_stage[name]["faults"] for name in payload),
        "science_cpu_s": sum(per_stage[name]["cpu"] for name in science),
        "write_cpu_s": sum(per_stage[name]["cpu"] for name in payload if name in WRITING),
        "payload_cpu_s": sum(per_stage[name]["cpu"] for name in payload),
        "payload_sys_s": sum(per_stage[name]["sys"] for name in payload),
        "bytes_per_ccd": statistics.median(run["bytes_written"] for run in runs),
        "n_sources": runs[0]["n_sources"],
        "n_diasources": runs[0]["n_diasources"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--detector-size", type=int, default=4096)
    parser.add_argument("--detector", default="R22_S11")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="a tree of other code to measure beside")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child is not None:
        print(json.dumps(measure(arguments.detector_size, arguments.detector, arguments.child)))
        return
    trees: dict[str, Path | None] = {"after": None}
    if arguments.baseline is not None:
        trees = {"before": arguments.baseline.resolve(), **trees}
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in trees}
    for _ in range(arguments.rounds):
        for label, tree in trees.items():
            runs[label].append(run_child(tree, arguments.detector_size, arguments.detector))
    figures: dict[str, Any] = {label: summarise(found) for label, found in runs.items()}
    after = figures["after"]
    figures |= {
        "detector_size": arguments.detector_size,
        "rounds": arguments.rounds,
        "payload_cpu_s": after["payload_cpu_s"],
        "target_cpu_s": TARGET_CPU_SECONDS,
        "ratio_to_target": after["payload_cpu_s"] / TARGET_CPU_SECONDS,
        "cores_for_189_ccds_in_60s": math.ceil(
            FOCAL_PLANE_CCDS * after["payload_cpu_s"] / LATENCY_BUDGET_SECONDS
        ),
    }
    if "before" in figures:
        figures["ratio_after_over_before"] = (
            after["payload_cpu_s"] / figures["before"]["payload_cpu_s"]
        )
    print_table(figures, list(trees))
    if arguments.json:
        arguments.json.write_text(json.dumps(figures, indent=2))


def print_table(figures: dict[str, Any], labels: list[str]) -> None:
    size = figures["detector_size"]
    print(f"alert production, {size}x{size} CCD, one core, CPU s (median of "
          f"{figures['rounds']} rounds)")
    stages = list(dict.fromkeys(s for label in labels for s in figures[label]["stage_cpu_s"]))
    print(f"  {'stage':<14}" + "".join(f"{label:>10}" for label in labels))
    for name in stages:
        cells = "".join(
            f"{figures[label]['stage_cpu_s'].get(name, float('nan')):10.2f}" for label in labels
        )
        print(f"  {name:<14}{cells}")
    for key in ("science_cpu_s", "write_cpu_s", "payload_cpu_s", "payload_sys_s"):
        print(f"  {key:<14}" + "".join(f"{figures[label][key]:10.2f}" for label in labels))
    print(f"  {'MB per CCD':<14}"
          + "".join(f"{figures[label]['bytes_per_ccd'] / 1e6:10.1f}" for label in labels))
    print(f"  {'page faults':<14}"
          + "".join(f"{figures[label]['page_faults']:10.0f}" for label in labels))
    print(f"  payload {figures['payload_cpu_s']:.2f} s = {figures['ratio_to_target']:.2f} x the "
          f"{figures['target_cpu_s']:.0f} s goal; cores for {FOCAL_PLANE_CCDS} CCDs in "
          f"{LATENCY_BUDGET_SECONDS:.0f} s: {figures['cores_for_189_ccds_in_60s']}")
    if "ratio_after_over_before" in figures:
        print(f"  after / before: {figures['ratio_after_over_before']:.2f}")


if __name__ == "__main__":
    main()
