"""Output write speed: a visit's calexps as FITS and as HDF5 against raw ``ndarray.tofile``.

Also FITS tile-compressed as the alert-production payload writes calexps (``fits_rice``:
floats quantized to noise / 10, masks lossless): its throughput counts the visit's
uncompressed megabytes, and ``bytes_on_disk`` says what each format leaves there.

Each CCD is an image (float32), mask (int32) and variance (float32) plane with WCS and header.
Every writer, the raw baseline included, fsyncs each file, in the same run and directory.
A ratio is our throughput over raw throughput (1.0 = parity; target >= 0.7), taken per round
(raw and ours written back to back, order rotated) and reported as the median over rounds,
because this machine's disk throughput drifts by a factor of several between seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dmcs.payloads.camera.exposure import Exposure, exposure_to_bundle
from dmcs.payloads.camera.focal_plane import FocalPlane, Pointing
from dmcs.payloads.io.compression import TileCompression
from dmcs.payloads.io.io_fits import fsync_path
from dmcs.payloads.storage import write_bundle

TARGET_RATIO = 0.7


def visit_exposures(ccds: int, size: int) -> list[Exposure]:
    rng = np.random.default_rng(0)
    focal_plane = FocalPlane(size)
    pointing = Pointing(150.0, 2.0, 0.0)
    exposures = []
    for name in focal_plane.names[:ccds]:
        image = rng.normal(800, 30, (size, size)).astype(np.float32)
        mask = (rng.random((size, size)) < 0.01).astype(np.int32)
        variance = np.full((size, size), 900.0, np.float32)
        wcs = focal_plane.wcs(focal_plane.detector(name), pointing)
        exposures.append(
            Exposure(image, mask, variance, wcs, {"DETECTOR": name, "VISIT": 1, "ZP": 28.0})
        )
    return exposures


def write_raw(directory: Path, exposures: list[Exposure]) -> None:
    for k, exposure in enumerate(exposures):
        path = directory / f"raw_{k}.bin"
        with path.open("wb") as stream:
            for plane in (exposure.image, exposure.mask, exposure.variance):
                plane.tofile(stream)
        fsync_path(path)


def writer(
    output_format: str, compression: TileCompression | None = None
) -> Callable[[Path, list[Exposure]], None]:
    def write(directory: Path, exposures: list[Exposure]) -> None:
        for k, exposure in enumerate(exposures):
            write_bundle(
                directory / f"{output_format}_{k}",
                exposure_to_bundle(exposure),
                output_format,  # type: ignore[arg-type]
                compression,
            )

    return write


def timed(
    write: Callable[[Path, list[Exposure]], None], directory: Path, exposures: list[Exposure]
) -> float:
    """Seconds to write the visit into an empty directory (emptied and synced beforehand)."""
    for stale in directory.iterdir():
        stale.unlink()
    os.sync()
    start = time.perf_counter()
    write(directory, exposures)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--ccds", type=int, default=8, help="CCDs in the visit")
    parser.add_argument("--detector-size", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument(
        "--directory", type=Path, default=None, help="where to write (default: a temp dir)"
    )
    arguments = parser.parse_args()
    exposures = visit_exposures(arguments.ccds, arguments.detector_size)
    megabytes = sum(e.image.nbytes + e.mask.nbytes + e.variance.nbytes for e in exposures) / 1e6
    writers = {
        "raw": write_raw,
        "fits": writer("fits"),
        "hdf5": writer("hdf5"),
        "fits_rice": writer("fits", TileCompression()),
    }
    seconds: dict[str, list[float]] = {name: [] for name in writers}
    bytes_on_disk: dict[str, int] = {}
    with tempfile.TemporaryDirectory(dir=arguments.directory) as scratch:
        directory = Path(scratch)
        names = list(writers)
        for repeat in range(arguments.repeats):
            turn = repeat % len(names)
            for name in names[turn:] + names[:turn]:
                seconds[name].append(timed(writers[name], directory, exposures))
                bytes_on_disk[name] = sum(path.stat().st_size for path in directory.iterdir())
    best = {name: statistics.median(times) for name, times in seconds.items()}
    speed = {name: megabytes / value for name, value in best.items()}
    ratio = {
        name: statistics.median(
            raw / ours for raw, ours in zip(seconds["raw"], seconds[name], strict=True)
        )
        for name in writers
    }
    figures = {
        "fits_ratio": ratio["fits"],
        "hdf5_ratio": ratio["hdf5"],
        "fits_rice_ratio": ratio["fits_rice"],
        "bytes_on_disk": bytes_on_disk,
        "megabytes_per_visit": megabytes,
        "mb_per_s": speed,
        "seconds": best,
        "ccds": arguments.ccds,
        "detector_size": arguments.detector_size,
        "target_ratio": TARGET_RATIO,
    }
    print(
        f"writing {arguments.ccds} CCDs of {arguments.detector_size}^2 ({megabytes:.0f} MB),"
        f" fsync, order rotated, median of {arguments.repeats}"
    )
    for name in writers:
        print(
            f"  {name:<9} {best[name]:6.2f} s  {speed[name]:8.1f} MB/s  ratio {ratio[name]:.2f}"
            f"  {bytes_on_disk[name] / 1e6:8.1f} MB on disk"
        )
    if arguments.json:
        arguments.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
