"""APDB association, its safety under concurrent writers, and the Avro alert packets."""

from __future__ import annotations

import io
import multiprocessing
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.time import Time
from lsst.dax.apdb import Apdb as DaxApdb

from dmcs.payloads.association.alerts import read_alerts
from dmcs.payloads.association.apdb import ApdbClient, config_path, sky_box
from dmcs.payloads.association.association import associate, with_visit_times
from dmcs.payloads.association.cutout_fits import cutout_side
from dmcs.payloads.differencing.dia_sources import DIA_SOURCE_DTYPE, dia_source_id
from dmcs.payloads.pipelines import PIPELINES
from tests.payloads.conftest import PayloadRun


def test_a_transient_seen_in_three_visits_is_one_dia_object(default_alert_run: PayloadRun) -> None:
    """Read back through lsst-dax-apdb's own API, from the configuration saved beside it."""
    url = default_alert_run.summary["apdb_url"]
    apdb = DaxApdb.from_uri(str(config_path(url)))
    objects = apdb.getDiaObjects(sky_box(149.0, 151.0, 1.0, 3.0))
    thrice = objects[objects["nDiaSources"] == 3]
    assert len(thrice) >= 10
    assert (thrice["r_psfFluxNdata"] == 3).all() and (thrice["g_psfFluxNdata"] == 0).all()
    sources = apdb.getDiaSources(sky_box(149.0, 151.0, 1.0, 3.0), thrice["diaObjectId"].tolist(),
                                 Time(61001.0, format="mjd", scale="tai"))
    assert sources is not None
    visits = sources.groupby("diaObjectId")["visit"].apply(sorted)
    assert all(v == [1, 2, 3] for v in visits), "each has one source in each visit"
    summary = default_alert_run.summary
    assert (
        summary["n_new_objects"] + summary["n_updated_objects"]
        == summary["n_alerts"]
        == summary["n_diasources"]
    )
    client = ApdbClient(url)
    try:
        assert client.count("DiaSource") == summary["n_diasources"]
        assert client.count("DiaObject") == summary["n_dia_objects_in_apdb"]
    finally:
        client.close()


def test_rerunning_association_does_not_duplicate_history(default_alert_run: PayloadRun) -> None:
    before = default_alert_run.summary
    again = default_alert_run.pipeline.finalize(default_alert_run.results)
    assert again["n_alerts"] == 0 and again["n_new_objects"] == 0 and again["alert_files"] == []
    assert again["n_dia_objects_in_apdb"] == before["n_dia_objects_in_apdb"]


def test_alert_packets_decode_with_only_the_file_and_carry_history_and_cutouts(
    default_alert_run: PayloadRun,
) -> None:
    packets = read_alerts(Path(default_alert_run.summary["alert_files"][2]))
    visit_3 = [r for r in default_alert_run.results.values() if r["visit"] == 3]
    assert len(packets) == sum(r["n_diasources"] for r in visit_3)
    with_history = [p for p in packets if p["diaObject"]["nDiaSources"] == 3]
    assert with_history
    assert all([s["visit"] for s in p["prvDiaSources"]] == [1, 2] for p in with_history)
    bright = max(
        (p for p in packets if not p["diaSource"]["isNegative"]),
        key=lambda p: p["diaSource"]["snr"],
    )
    side = cutout_side(bright["diaSource"]["bboxSize"])
    for name in ("cutoutScience", "cutoutTemplate", "cutoutDifference"):
        with fits.open(io.BytesIO(bright[name])) as hdus:
            assert hdus[0].data.shape == (side, side)
    with fits.open(io.BytesIO(bright["cutoutDifference"])) as hdus:
        difference = hdus[0].data
    peak_row, peak_col = np.unravel_index(np.nanargmax(difference), difference.shape)
    assert abs(peak_row - side // 2) <= 1 and abs(peak_col - side // 2) <= 1, (
        "the transient sits at the cutout centre"
    )


def _synthetic_sources(visit: int, ra: np.ndarray, dec: np.ndarray, detector: int) -> np.ndarray:
    sources = np.zeros(len(ra), dtype=DIA_SOURCE_DTYPE)
    sources["diaSourceId"] = dia_source_id(visit, detector, np.arange(len(ra)))
    sources["visit"], sources["detector"], sources["ra"], sources["dec"] = visit, detector, ra, dec
    sources["psfFlux"], sources["psfFluxErr"], sources["snr"] = 1000.0, 50.0, 20.0
    return with_visit_times(sources, np.full(len(ra), 61000.0 + visit), 61001.0)


def _associate_worker(url: str, detector: int, count: int) -> None:
    ra = 150.0 + np.arange(count) * 0.001
    dec = np.full(count, 2.0)
    apdb = ApdbClient(url)
    try:
        for visit, start in enumerate(range(0, count, 10), start=10 * detector):
            chunk = slice(start, start + 10)
            sources = _synthetic_sources(visit, ra[chunk], dec[chunk], detector)
            associate(apdb, sources, 1.0)
    finally:
        apdb.close()


def test_concurrent_writers_leave_a_consistent_apdb(tmp_path: Path) -> None:
    """Four processes associate the same 60 sky positions at once: one object per position."""
    url = f"sqlite:///{tmp_path / 'apdb.sqlite3'}"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_associate_worker, args=(url, d, 60)) for d in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    apdb = ApdbClient(url)
    try:
        assert apdb.count("DiaSource") == 240
        assert apdb.count("DiaObject") == 60, "one current version per sky position"
        objects = apdb.objects_in(sky_box(149.9, 150.1, 1.9, 2.1))
        assert sorted(objects["nDiaSources"]) == [4] * 60, "each counts its four sources"
    finally:
        apdb.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://db.example/apdb", "unsupported APDB URL scheme 'mysql'"),
        ("apdb.sqlite3", "is not a URL"),
        ("sqlite://", "names no database file"),
    ],
)
def test_bad_apdb_url_is_refused_before_any_work(tmp_path: Path, url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PIPELINES["alert-production"]({"apdb_url": url}, tmp_path)
