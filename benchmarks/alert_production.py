"""Alert-production throughput: one 4k x 4k CCD visit through the whole payload on one core.

Prints the time per stage and in total, against the 20 s per-CCD target, and the cores needed
to process a full 189-CCD focal plane within the 60 s alert latency budget. The first visit
is processed once untimed (imports, caches), then the second visit is timed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path

from dmcs.payloads.association.alert_production import AlertProductionPipeline

TARGET_SECONDS_PER_CCD = 20.0
FOCAL_PLANE_CCDS = 189
LATENCY_BUDGET_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--detector-size", type=int, default=4096)
    parser.add_argument("--detector", default="R22_S11")
    arguments = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory() as output:
        pipeline = AlertProductionPipeline(
            {"detector_size": arguments.detector_size, "detectors": [arguments.detector]},
            Path(output),
        )
        pipeline.setup()
        pipeline.run_item(f"visit=1 detector={arguments.detector}")
        start = time.perf_counter()
        result = pipeline.run_item(f"visit=2 detector={arguments.detector}")
        total = time.perf_counter() - start
        stages = dict(pipeline.stage_seconds)
    cores = math.ceil(FOCAL_PLANE_CCDS * total / LATENCY_BUDGET_SECONDS)
    figures = {
        "seconds_per_ccd": total,
        "stages": stages,
        "cores_for_189_ccds_in_60s": cores,
        "target_seconds_per_ccd": TARGET_SECONDS_PER_CCD,
        "ratio_to_target": total / TARGET_SECONDS_PER_CCD,
        "detector_size": arguments.detector_size,
        "n_sources": result["n_sources"],
        "n_diasources": result["n_diasources"],
    }
    print(f"alert production, {arguments.detector_size}x{arguments.detector_size} CCD, one core")
    for stage, seconds in stages.items():
        print(f"  {stage:<14} {seconds:7.2f} s  ({seconds / total:5.1%})")
    print(
        f"  {'total':<14} {total:7.2f} s  = {total / TARGET_SECONDS_PER_CCD:.2f}"
        f" x the {TARGET_SECONDS_PER_CCD:.0f} s target"
    )
    print(f"  sources {result['n_sources']}, DIASources {result['n_diasources']}")
    print(f"  cores for {FOCAL_PLANE_CCDS} CCDs in {LATENCY_BUDGET_SECONDS:.0f} s: {cores}")
    if arguments.json:
        arguments.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
