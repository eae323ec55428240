"""Association per CCD through lsst-dax-apdb at 10,000 DiaObjects in the CCD's region.

An SQLite APDB is seeded with `--objects` DiaObjects (each with one DIASource) spread over a
4k CCD's footprint (0.23 deg square); then each round associates one CCD of `--sources`
DIASources (half on known objects, half new) of a new visit: read the region, match, store
(``associate``: the whole of what prompt processing does per CCD). The raw baseline, in the
same run and database file, is sqlite3 alone doing the same I/O: select the region's
DiaObject rows and insert as many rows into a scratch table. Ratio = ours / raw (time).
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._common import parse_args
from dmcs.payloads.association.apdb import ApdbClient, sqlite_path
from dmcs.payloads.association.association import associate, with_visit_times
from dmcs.payloads.differencing.dia_sources import DIA_SOURCE_DTYPE, dia_source_id

SIDE_DEG = 0.23
RA0, DEC0 = 150.0, 2.0
#: Alert production per 4k CCD on one core (DESIGN.md): what association is a part of.
CCD_SECONDS = 12.0


def ccd_sources(visit: int, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    table = np.zeros(len(ra), dtype=DIA_SOURCE_DTYPE)
    table["diaSourceId"] = dia_source_id(visit, 0, np.arange(len(ra)))
    table["visit"], table["detector"], table["ra"], table["dec"] = visit, 0, ra, dec
    table["x"], table["y"], table["psfNdata"], table["bboxSize"] = 100.0, 200.0, 49, 12
    table["psfFlux"], table["psfFluxErr"], table["snr"] = 1000.0, 50.0, 20.0
    return with_visit_times(table, np.full(len(ra), 61000.0 + visit / 1000), 61001.0)


def raw_round(path: Path, count: int) -> float:
    started = time.perf_counter()
    with sqlite3.connect(path) as db:
        half = SIDE_DEG / 2
        rows = db.execute(
            'SELECT * FROM "DiaObject" WHERE dec BETWEEN ? AND ? AND ra BETWEEN ? AND ?',
            (DEC0 - half, DEC0 + half, RA0 - half, RA0 + half)).fetchall()
        db.execute("CREATE TABLE IF NOT EXISTS scratch (a INTEGER, b REAL, c REAL)")
        db.executemany("INSERT INTO scratch VALUES (?, ?, ?)",
                       [(i, 1.0, 2.0) for i in range(count)])
    assert rows
    return time.perf_counter() - started


def main() -> None:
    args = parse_args(__doc__ or "", objects=(int, 10_000, "DiaObjects in the region"),
                      sources=(int, 1_000, "DIASources per CCD"),
                      rounds=(int, 5, "CCDs associated"))
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory(prefix="dmcs-bench-apdb-") as folder:
        url = f"sqlite:///{Path(folder) / 'apdb.sqlite3'}"
        apdb = ApdbClient(url)
        path = sqlite_path(url)
        assert path is not None
        ra = RA0 + (rng.random(args.objects) - 0.5) * SIDE_DEG
        dec = DEC0 + (rng.random(args.objects) - 0.5) * SIDE_DEG
        associate(apdb, ccd_sources(1, ra, dec), 0.5)
        ours, raw = [], []
        for visit in range(2, 2 + args.rounds):
            known = rng.choice(args.objects, args.sources // 2, replace=False)
            fresh = args.sources - len(known)
            s_ra = np.concatenate([ra[known], RA0 + (rng.random(fresh) - 0.5) * SIDE_DEG])
            s_dec = np.concatenate([dec[known], DEC0 + (rng.random(fresh) - 0.5) * SIDE_DEG])
            sources = ccd_sources(visit, s_ra, s_dec)
            started = time.perf_counter()
            result = associate(apdb, sources, 0.5, history_length=5)
            ours.append(time.perf_counter() - started)
            raw.append(raw_round(path, args.sources))
            assert len(result.updated_object_ids) >= len(known) * 0.9
        apdb.close()
    figures = {
        "objects_in_region": args.objects,
        "sources_per_ccd": args.sources,
        "association_per_ccd_s_median": statistics.median(ours),
        "raw_sqlite_per_ccd_s_median": statistics.median(raw),
        "ratio_to_raw": statistics.median(ours) / statistics.median(raw),
        "fraction_of_ccd_alert_production": statistics.median(ours) / CCD_SECONDS,
    }
    for name, value in figures.items():
        print(f"{name:36} {value:.4g}" if isinstance(value, float) else f"{name:36} {value}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
