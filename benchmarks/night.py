"""A night at full CCD size: alert latency against the 60 s budget, visits per hour, and
archiving speed beside a raw write of the same bytes in the same run.

Runs `dmcs night` in-process (every CSC its own process, a private broker) with K CCDs of
4096 x 4096 pixels by default, then reads the figures from what the services published:

- latency: per visit, end of readout -> alerts sent (prompt processing's visitProcessed);
  p50 and p98, and their ratio to the 60 s budget (< 1 is inside it);
- visits per hour: alerted visits over the span between the first and last alerts;
- archiving MB/s: per image, the bytes of its archived FITS files over the time from the
  camera's endReadout to the last CCD's imageInOODS; beside it, the same bytes written raw
  (os.write + fsync) into the same directory, image by image, in the same run.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

from _common import log_dir, parse_args, report
from rich.console import Console

from dmcs.night.options import NightOptions
from dmcs.night.orchestrator import Night

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


def main() -> int:
    args = parse_args(__doc__ or "", visits=(int, 3, "science visits"),
                      ccds=(int, 2, "CCDs per image"), ccd_size=(int, 4096, "CCD width (px)"),
                      cadence=(float, 40.0, "seconds between visits"))
    root = log_dir() / "night"
    options = NightOptions(root=root, visits=args.visits, ccds=args.ccds,
                           ccd_size=args.ccd_size, cadence=args.cadence, lead_time=20.0,
                           exposure_time_scale=1.0, calibrations=0, live=False)
    night = Night(options, Console(stderr=True, highlight=False))
    result = asyncio.run(night.run())
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
    latencies = observer.latencies()
    alert_times = sorted(
        observer.readout_times[g.read_out[-1]] + g.latency for g in observer.science()
        if g.latency is not None and g.read_out and g.read_out[-1] in observer.readout_times)
    span = alert_times[-1] - alert_times[0] if len(alert_times) > 1 else 0.0
    figures: dict[str, object] = {
        "ccds": args.ccds, "ccd_size": args.ccd_size, "visits": args.visits,
        "accounted_for": result.accounted_for,
        "latency_p50_s": result.latency_p50_s, "latency_p98_s": result.latency_p98_s,
        "latency_p98_over_budget": (result.latency_p98_s / BUDGET_S
                                    if result.latency_p98_s is not None else None),
        "visits_per_hour": (len(alert_times) - 1) / span * 3600 if span else None,
        "latencies_s": [round(v, 2) for v in latencies],
        "archive_mb_s_median": statistics.median(archive_rates) if archive_rates else None,
        "raw_write_mb_s_median": statistics.median(raw_rates) if raw_rates else None,
        "archive_over_raw": (statistics.median(archive_rates) / statistics.median(raw_rates)
                             if archive_rates and raw_rates else None),
        "images": len(archive_rates),
        "elapsed_s": result.elapsed_s,
    }
    report(figures, args.json)
    return 0 if result.accounted_for else 1


if __name__ == "__main__":
    sys.exit(main())
