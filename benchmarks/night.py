"""A night at full CCD size: alert latency against the 60 s budget, visits per hour, and
archiving speed beside a raw write of the same bytes in the same run.

Runs `dmcs night` in-process (every CSC its own process, a private broker) with K CCDs of
4096 x 4096 pixels by default, then reads the figures from what the services published:

- latency: per visit, end of readout -> alerts sent (prompt processing's visitProcessed);
  p50 and p98, and their ratio to the 60 s budget (< 1 is inside it);
- visits per hour: alerted visits over the span between the first and last alerts;
- archiving MB/s: per image, the bytes of its archived FITS files over the time from the
  camera's endReadout to the last CCD's imageInOODS; beside it, the same bytes written raw
  (os.write + fsync) into the same directory, image by image, in the same run;
- CCDs alerted, late and failed, visits late; visits whose every CCD image was archived
  before the next visit's first readout, and the longest readout -> last-archived lag;
- latency over payload: after the night, the payload alone does what the DM path did before
  each visit's alerts — every CCD of the visit from the same DAQ raws through the science and
  its association (`alert_ready`, `finalize_ccd`), each detector on the rank it was pinned to
  (the same number of processes, preloaded first, as on the night) — and each alerted visit's
  latency is divided by that visit's payload wall time (the slowest rank); the median is
  `latency_over_payload` (1 would be a DM system that costs nothing);
- CPU split: cores used by each process (the broker, each CSC, the ranks...) from the first
  science readout to the last visit's alerts (`cpu_split_cores`, `_cpu.CpuSampler`).

`--broker-kind tansu` runs the night on Tansu (default: Apache Kafka where it runs here).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from _common import log_dir, parse_args, report
from _cpu import CpuSampler
from rich.console import Console

from dmcs.night.observer import NightObserver
from dmcs.night.options import NightOptions
from dmcs.night.orchestrator import Night
from dmcs.payloads.science_limit import ScienceLimitError
from dmcs.sal.config import BROKER_KIND_ENV
from dmcs.services.prompt_processing.ccd_pipeline import PromptVisitPipeline, preload_item
from dmcs.services.prompt_processing.service import pin_detectors
from dmcs.sims.daq_store import DaqStore
from dmcs.sims.visit_plan import parse_group_id

BUDGET_S = 60.0
MB = 1e6


def raw_write_mb_s(directory: Path, sizes: list[int]) -> list[float]:
    """MB/s of writing each size raw (one file each, fsynced), in the archive's directory."""
    rates = []
    for size in sizes:
        payload = os.urandom(min(size, 64 * 2**20))
        path = directory / "raw-baseline.bin"
        began = time.perf_counter()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            written = 0
            while written < size:
                written += os.write(fd, payload[: size - written])
            os.fsync(fd)
        finally:
            os.close(fd)
        rates.append(size / MB / (time.perf_counter() - began))
        path.unlink()
    return rates


def rank_payload(config: dict[str, Any], output_dir: str, detectors: list[str],
                 visits: dict[int, list[str]]) -> dict[int, float]:
    """One rank's share: wall seconds per visit for its detectors (preloaded beforehand)."""
    pipeline = PromptVisitPipeline(config, Path(output_dir))
    pipeline.setup()
    assert pipeline.snaps is not None
    seconds = {}
    for visit, images in visits.items():
        pipeline.run_item(preload_item(visit, detectors))
        pipeline.snaps.images[visit] = images
        began = time.perf_counter()
        for detector in detectors:
            try:
                ccd = pipeline.alert_ready(visit, detector)
            except ScienceLimitError:
                continue  # unprocessable: no result on the night either
            pipeline.finalize_ccd(ccd.result)
        seconds[visit] = time.perf_counter() - began
    return seconds


def payload_seconds(root: Path, observer: NightObserver) -> dict[str, float]:
    """Per alerted visit (groupId), the payload's own wall time on the night's ranks."""
    site = yaml.safe_load((root / "config" / "PromptProcessing" / "_init.yaml").read_text())
    config = {**site["payload"], "daq_root": site["daq_root"]}
    daq = DaqStore(Path(site["daq_root"]))
    groups: dict[int, str] = {}
    visits: dict[int, list[str]] = {}
    for group in observer.science():
        images = sorted(daq.images(group.group_id), key=lambda image: image.snap)
        if group.latency is not None and images:
            number = parse_group_id(group.group_id)[2]
            groups[number], visits[number] = group.group_id, [i.name for i in images]
    by_rank: dict[int, list[str]] = {}
    for detector, rank in pin_detectors(config["detectors"], list(range(site["ranks"]))).items():
        by_rank.setdefault(rank, []).append(detector)
    with ProcessPoolExecutor(len(by_rank)) as pool:
        shares = list(pool.map(rank_payload, [config] * len(by_rank),
                               [str(root / "payload" / f"rank{r}") for r in by_rank],
                               list(by_rank.values()), [visits] * len(by_rank)))
    return {groups[v]: max(share[v] for share in shares) for v in visits}


def archive_pace(observer: NightObserver) -> tuple[int, int, float | None]:
    """(visits wholly archived before the next visit's first readout, visits with a next,
    the longest time from a visit's last readout to its last CCD archived)."""
    visits = [g for g in observer.science() if g.read_out]
    kept, lags = 0, []
    for index, group in enumerate(visits):
        done = [t for (image, _), t in observer.archive_times.items() if image in group.read_out]
        last_readout = max(observer.readout_times.get(i, 0.0) for i in group.read_out)
        if done:
            lags.append(max(done) - last_readout)
        if index + 1 < len(visits):
            following = min(observer.readout_times.get(i, float("inf"))
                            for i in visits[index + 1].read_out)
            expected = group.nimages * observer.ccds
            kept += len(done) == expected and max(done) <= following
    return kept, max(len(visits) - 1, 0), max(lags) if lags else None


def main() -> int:
    args = parse_args(__doc__ or "", visits=(int, 3, "science visits"),
                      ccds=(int, 2, "CCDs per image"), ccd_size=(int, 4096, "CCD width (px)"),
                      cadence=(float, 40.0, "seconds between visits"))
    root = log_dir() / "night"
    options = NightOptions(root=root, visits=args.visits, ccds=args.ccds,
                           ccd_size=args.ccd_size, cadence=args.cadence, lead_time=20.0,
                           exposure_time_scale=1.0, calibrations=0, live=False)
    if args.broker_kind:
        os.environ[BROKER_KIND_ENV] = args.broker_kind
    night = Night(options, Console(stderr=True, highlight=False))
    sampler = CpuSampler("night script + observer")
    sampler.start()
    try:
        result = asyncio.run(night.run())
    finally:
        sampler.stop()
    observer = night.observer
    assert observer is not None
    archive = root / "data" / "archive"
    image_bytes: dict[str, int] = {}
    for fits in archive.rglob("*.fits"):
        obsid = fits.parent.name
        image_bytes[obsid] = image_bytes.get(obsid, 0) + fits.stat().st_size
    archive_rates, sizes = [], []
    for obsid, size in image_bytes.items():
        done = [t for (image, _), t in observer.archive_times.items() if image == obsid]
        readout = observer.readout_times.get(obsid)
        if done and readout is not None and max(done) > readout:
            archive_rates.append(size / MB / (max(done) - readout))
            sizes.append(size)
    raw_rates = raw_write_mb_s(archive, sizes)
    payload = payload_seconds(root, observer)
    over_payload = [g.latency / payload[g.group_id] for g in observer.science()
                    if g.latency is not None and payload.get(g.group_id)]
    latencies = observer.latencies()
    kept_pace, paced, archive_lag = archive_pace(observer)
    alert_times = sorted(
        observer.readout_times[g.read_out[-1]] + g.latency for g in observer.science()
        if g.latency is not None and g.read_out and g.read_out[-1] in observer.readout_times)
    span = alert_times[-1] - alert_times[0] if len(alert_times) > 1 else 0.0
    science_readouts = [observer.readout_times[image] for g in observer.science()
                        for image in g.read_out if image in observer.readout_times]
    cpu_split = (sampler.split(min(science_readouts), alert_times[-1])
                 if science_readouts and alert_times else {})
    figures: dict[str, object] = {
        "ccds": args.ccds, "ccd_size": args.ccd_size, "visits": args.visits,
        "accounted_for": result.accounted_for, "problems": result.problems,
        "latency_p50_s": result.latency_p50_s, "latency_p98_s": result.latency_p98_s,
        "latency_p98_over_budget": (result.latency_p98_s / BUDGET_S
                                    if result.latency_p98_s is not None else None),
        "visits_per_hour": (len(alert_times) - 1) / span * 3600 if span else None,
        "latencies_s": [round(v, 2) for v in latencies],
        "visits_late": result.visits_late,
        "ccds_alerted": result.ccds_alerted, "ccds_late": result.ccds_late,
        "ccds_failed": result.ccds_failed, "ccds_unprocessable": result.ccds_unprocessable,
        "payload_s": [round(v, 2) for v in payload.values()],
        "latency_over_payload": statistics.median(over_payload) if over_payload else None,
        "archive_mb_s_median": statistics.median(archive_rates) if archive_rates else None,
        "raw_write_mb_s_median": statistics.median(raw_rates) if raw_rates else None,
        "archive_over_raw": (statistics.median(archive_rates) / statistics.median(raw_rates)
                             if archive_rates and raw_rates else None),
        "images": len(archive_rates),
        "visits_archived_before_next_readout": f"{kept_pace} of {paced}",
        "archive_lag_max_s": archive_lag,
        "elapsed_s": result.elapsed_s,
        "broker_kind": os.environ.get(BROKER_KIND_ENV, "default"),
        "cpu_split_cores": cpu_split,
    }
    report(figures, args.json)
    return 0 if result.accounted_for else 1


if __name__ == "__main__":
    sys.exit(main())
