"""Registering exposures in the Butler: exposures per second at 189 CCDs each.

Per exposure, what the archiver does: its day_obs/group/exposure/visit records and one
``ingest()`` of its 189 CCD files in place (``dmcs.butler.raws.ingest_exposure``), on SQLite
and on PostgreSQL (a throwaway server from the Debian binaries; skipped, saying so, without
them). Beside it, in the same run and the same database, the bare baseline: one transaction
``INSERT``-ing 189 rows (id, exposure, detector, path, size) into a plain table. Also shown:
one exposure ingested CCD by CCD (189 calls), the cost the one-call design avoids. The files
are small raw-like FITS files written beforehand (file I/O is not what is measured). The
camera's pace is one 189-CCD exposure every ~16 s (two snaps per 32 s visit).
"""

from __future__ import annotations

import contextlib
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from _common import parse_args, report
from astropy.io import fits

from dmcs.butler.instrument import science_detectors
from dmcs.butler.raws import ExposureInfo, RawFile, VisitSpan, ingest_exposure
from dmcs.butler.repository import open_repository
from dmcs.testing.postgres import find_bin_dir, running_postgres

START_TAI = 1_796_083_237.0
CAMERA_PACE_S = 16.0
BARE_TABLE = ("CREATE TABLE IF NOT EXISTS bare_raw (id TEXT PRIMARY KEY, exposure BIGINT,"
              " detector INTEGER, path TEXT, size BIGINT)")


def exposure(k: int) -> ExposureInfo:
    seqnum = k + 1
    begin = START_TAI + 16.0 * k
    return ExposureInfo(
        obs_id=f"MC_O_20261130_{seqnum:06d}", dayobs="20261130", seqnum=seqnum,
        image_type="OBJECT", group=f"20261130_science_{1 + k // 2:04d}", exposure_time=15.0,
        dark_time=15.0, begin_tai=begin, end_tai=begin + 15.0, physical_filter="r",
        visit=VisitSpan(1 + k // 2, seqnum - k % 2, begin - 16.0 * (k % 2), begin + 15.0,
                        15.0 * (1 + k % 2)))


def write_files(root: Path, info: ExposureInfo) -> list[RawFile]:
    folder = root / "LSSTCam" / info.dayobs / info.obs_id
    folder.mkdir(parents=True, exist_ok=True)
    pixels = fits.ImageHDU(np.zeros((8, 8), ">i4"))
    files = []
    for detector in science_detectors():
        path = folder / f"{info.obs_id}_{detector.full_name}.fits"
        fits.HDUList([fits.PrimaryHDU(), pixels]).writeto(path)
        files.append(RawFile(detector.full_name, path))
    return files


def timed_each(count: int, work: Callable[[int], Any]) -> list[float]:
    seconds = []
    for k in range(count):
        began = time.perf_counter()
        work(k)
        seconds.append(time.perf_counter() - began)
    return seconds


def bare_rows(k: int, files: list[RawFile]) -> list[tuple[str, int, int, str, int]]:
    return [(str(uuid.uuid4()), k, d, str(f.path), 5760) for d, f in enumerate(files)]


def measure(root: Path, registry_url: str, connect: Callable[[], Any], marker: str,
            exposures: int) -> dict[str, float]:
    butler = open_repository(root, registry_url)
    infos = [exposure(k) for k in range(exposures + 1)]
    files = [write_files(root, info) for info in infos]
    ours = timed_each(exposures, lambda k: ingest_exposure(butler, infos[k], files[k]))
    last = infos[exposures]
    began = time.perf_counter()
    for one in files[exposures]:
        ingest_exposure(butler, last, [one])
    per_ccd_s = time.perf_counter() - began
    db = connect()
    db.execute(BARE_TABLE)
    db.commit()
    insert = f"INSERT INTO bare_raw VALUES ({', '.join([marker] * 5)})"

    def bare(k: int) -> None:
        db.cursor().executemany(insert, bare_rows(k, files[k]))
        db.commit()

    baseline = timed_each(exposures, bare)
    db.close()
    return {
        "exposures_per_s": 1 / statistics.median(ours),
        "ms_per_exposure_p50": 1e3 * statistics.median(ours),
        "ms_per_exposure_max": 1e3 * max(ours),
        "bare_insert_exposures_per_s": 1 / statistics.median(baseline),
        "ratio_to_bare_insert": statistics.median(baseline) / statistics.median(ours),
        "per_ccd_ingest_ms": 1e3 * per_ccd_s / len(files[exposures]),
        "camera_pace_margin": CAMERA_PACE_S / statistics.median(ours),
    }


@contextlib.contextmanager
def postgres_database() -> Iterator[str | None]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        yield None
        return
    with running_postgres(bin_dir) as server:
        import psycopg

        with psycopg.connect(server.url(), autocommit=True) as admin:
            admin.execute("CREATE DATABASE bench")
        yield server.url("bench")


def main() -> None:
    args = parse_args(__doc__ or "", exposures=(int, 20, "exposures registered per backend"))
    figures: dict[str, Any] = {"ccds_per_exposure": len(science_detectors()),
                               "exposures": args.exposures}
    with tempfile.TemporaryDirectory(prefix="dmcs-ingest-bench-") as scratch:
        lite = Path(scratch) / "sqlite"
        figures["sqlite"] = measure(
            lite, "", lambda: sqlite3.connect(lite / "gen3.sqlite3"), "?", args.exposures)
        with postgres_database() as url:
            if url is None:
                figures["postgresql"] = "skipped: no PostgreSQL server binaries installed"
            else:
                import psycopg

                figures["postgresql"] = measure(
                    Path(scratch) / "pg", url, lambda: psycopg.connect(url), "%s",
                    args.exposures)
    report(figures, args.json)


if __name__ == "__main__":
    main()
