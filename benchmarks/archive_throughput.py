"""Archiving throughput: DAQ CCDs -> checksummed FITS + Butler ingest, beside a raw write.

A DAQ store holds ``--images`` images of ``--ccds`` CCDs (``--ccd-size`` pixels, random
pixels; rendering is not what is measured). Each round archives every image once per worker
setup (threads or processes, 1 and 2 workers; a fresh repository each time: DAQ read with its
CRC check, FITS assembly, checksums, the file's md5, direct write + fsync, one ingest per image) and
writes the same bytes raw (one file per CCD, os.write + fsync, one stream) in the same
directory tree; the order rotates per round and the ratio ours/raw is taken per round, because
this machine's disk throughput drifts between seconds. Goal: >= 300 MB/s with 2 workers at
4096 px, and >= 0.3 x raw.

``--full-visit`` adds the camera-pace check: one visit of 189 CCDs of 256 px (2 snaps)
archived with the default workers, in seconds, against the time to the next visit's readout.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from _common import parse_args, report

from dmcs.butler.repository import open_repository
from dmcs.payloads.camera.camera import AMP_COLUMNS, AMP_ROWS, CameraModel, RawExposure
from dmcs.payloads.camera.focal_plane import FocalPlane
from dmcs.services.archiver.archiver import Archiver
from dmcs.services.archiver.workers import WorkerKind, default_workers, make_pool
from dmcs.sims.daq_store import DaqImage, DaqStore

MB = 1e6
GOAL_MB_S = 300.0
GOAL_RATIO = 0.3
START_TAI = 1_796_083_237.0
#: The time from one visit's readout to the next one's at the camera's pace (cadence).
VISIT_PACE_S = 32.0
SETUPS = [(WorkerKind.THREAD, 1), (WorkerKind.THREAD, 2), (WorkerKind.PROCESS, 2)]


def fill_daq(daq: DaqStore, images: int, detectors: list[str], size: int,
             first_number: int = 1) -> list[DaqImage]:
    """Complete images of random int32 amplifiers, as the camera leaves them in the DAQ."""
    model = CameraModel(detector_size=size)
    rng = np.random.default_rng(1)
    amps = [rng.integers(4000, 6000, (model.amp_height, model.amp_width + model.overscan_columns),
                         dtype=np.int32) for _ in range(AMP_ROWS * AMP_COLUMNS)]
    filled = []
    for k in range(images):
        number = first_number + k
        image = DaqImage(name=f"MC_O_20261130_{number:06d}", number=number, dayobs="20261130",
                         instrument="LSSTCam", image_type="OBJECT",
                         group_id=f"20261130_science_{1 + k // 2:04d}", visit=1 + k // 2,
                         snap=k % 2, exposure_time=15.0, date_obs=START_TAI + 20 * k,
                         detectors=tuple(detectors))
        daq.begin_image(image)
        for detector in detectors:
            daq.put_ccd(image.name, detector, RawExposure(amps, {"DETECTOR": detector}))
        daq.complete_image(image.name, image.date_obs + 16)
        filled.append(daq.image(image.name))
    return filled


def archive_all(scratch: Path, daq: DaqStore, images: list[DaqImage], kind: WorkerKind,
                workers: int) -> tuple[float, int]:
    """Seconds to archive every image but the first into a fresh repository, and the bytes
    archived; the first image warms the pool up (its workers started, their imports done),
    as a running Archiver's pool is."""
    root = scratch / f"archive-{kind}-{workers}"
    shutil.rmtree(root, ignore_errors=True)
    butler = open_repository(root)
    with make_pool(kind, workers) as pool:
        archiver = Archiver(root, daq, butler, scratch / "headers", pool, "Bench", "1.0")
        archiver.archive_image(images[0], images[0].detectors, None)
        began = time.perf_counter()
        outcomes = [o for image in images[1:]
                    for o in archiver.archive_image(image, image.detectors, None)]
        seconds = time.perf_counter() - began
    assert all(o.status_code == 0 for o in outcomes), outcomes[0].description
    return seconds, sum(o.byte_size for o in outcomes)


def raw_write(scratch: Path, count: int, size: int) -> float:
    """Seconds to write ``count`` files of ``size`` bytes, each fsynced, one after another."""
    folder = scratch / "raw"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    payload = np.random.default_rng(2).integers(0, 255, size, dtype=np.uint8).tobytes()
    began = time.perf_counter()
    for k in range(count):
        with (folder / f"ccd{k}.bin").open("wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
    return time.perf_counter() - began


def full_visit_seconds(scratch: Path) -> float:
    """One visit (2 snaps x 189 CCDs of 256 px) archived with the default setup (after a
    warm-up image)."""
    daq = DaqStore(scratch / "daq-full")
    images = fill_daq(daq, 3, FocalPlane(128).names, 256, first_number=101)
    took, _ = archive_all(scratch, daq, images, WorkerKind.THREAD, default_workers())
    return took


def main() -> None:
    args = parse_args(__doc__ or "", ccds=(int, 4, "CCDs per image"),
                      images=(int, 2, "images archived per round"),
                      ccd_size=(int, 4096, "CCD width in pixels"),
                      rounds=(int, 3, "rounds (order rotated)"),
                      full_visit=(int, 1, "also time one 189-CCD visit at 256 px (0: skip)"))
    detectors = FocalPlane(128).names[: args.ccds]
    files = args.images * len(detectors)  # timed per round (a warm-up image comes first)
    with tempfile.TemporaryDirectory(prefix="dmcs-archive-bench-") as scratch_name:
        scratch = Path(scratch_name)
        daq = DaqStore(scratch / "daq")
        images = fill_daq(daq, args.images + 1, detectors, args.ccd_size)
        _, archived_bytes = archive_all(scratch, daq, images, WorkerKind.THREAD, 2)  # warm-up
        runs: dict[str, Callable[[], float]] = {
            f"{kind}x{workers}": partial(lambda k, n: archive_all(scratch, daq, images, k, n)[0],
                                         kind, workers)
            for kind, workers in SETUPS
        }
        runs["raw"] = partial(raw_write, scratch, files, archived_bytes // files)
        seconds: dict[str, list[float]] = {name: [] for name in runs}
        names = list(runs)
        for round_ in range(args.rounds):
            for name in names[round_ % len(names):] + names[: round_ % len(names)]:
                seconds[name].append(runs[name]())
        visit_s = full_visit_seconds(scratch) if args.full_visit else None
    megabytes = archived_bytes / MB
    rate = {name: megabytes / statistics.median(times) for name, times in seconds.items()}
    ratio = {name: statistics.median(raw / ours for raw, ours in
                                     zip(seconds["raw"], times, strict=True))
             for name, times in seconds.items() if name != "raw"}
    figures = {
        "ccd_size": args.ccd_size,
        "ccds_per_round": files,
        "megabytes_per_round": megabytes,
        "mb_s": rate,
        "ratio_to_raw": ratio,
        "raw_write_mb_s": rate["raw"],
        "archive_mb_s_2_workers": max(rate["threadx2"], rate["processx2"]),
        "fastest": max(ratio, key=lambda name: rate[name]),
        "goal_mb_s": GOAL_MB_S,
        "goal_ratio": GOAL_RATIO,
        "default_workers": default_workers(),
        "visit_189x256_s": visit_s,
        "visit_pace_s": VISIT_PACE_S,
    }
    report(figures, args.json)


if __name__ == "__main__":
    main()
