"""The APDB is lsst-dax-apdb's: on PostgreSQL by URL as on SQLite, read back with its own API
and its own command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.time import Time
from lsst.dax.apdb import Apdb, ApdbSqlConfig

from dmcs.payloads.association.apdb import ApdbClient, config_path, sky_box
from dmcs.payloads.association.association import associate, with_visit_times
from dmcs.payloads.differencing.dia_sources import DIA_SOURCE_DTYPE, dia_source_id

REGION = sky_box(149.9, 150.1, 1.9, 2.1)


def sources(visit: int, count: int = 20) -> np.ndarray:
    table = np.zeros(count, dtype=DIA_SOURCE_DTYPE)
    table["diaSourceId"] = dia_source_id(visit, 0, np.arange(count))
    table["visit"], table["detector"] = visit, 0
    table["ra"], table["dec"] = 150.0 + np.arange(count) * 0.001, 2.0
    table["x"], table["y"], table["psfNdata"], table["bboxSize"] = 10.0, 20.0, 49, 12
    table["psfFlux"], table["psfFluxErr"], table["snr"] = 1000.0, 50.0, 20.0
    return with_visit_times(table, np.full(count, 61000.0 + visit / 100), 61000.5)


def three_visits(url: str) -> list[int]:
    apdb = ApdbClient(url)
    try:
        results = [associate(apdb, sources(visit), 1.0, history_length=5) for visit in (1, 2, 3)]
        assert associate(apdb, sources(3), 1.0).new_object_ids == [], "a CCD is stored once"
    finally:
        apdb.close()
    last = results[-1]
    assert all([s["visit"] for s in last.history[i]] == [1, 2] for i in last.updated_object_ids)
    assert {o["nDiaSources"] for o in last.objects.values()} == {3}
    return last.updated_object_ids


@pytest.mark.xfail(
    strict=True, raises=pd.errors.DatabaseError,
    reason="lsst-dax-apdb 30.2026.4100 stores DiaObject.validityEndMjdTai as a Series of None, "
    "which pandas 3 types as object and to_sql binds as VARCHAR: PostgreSQL refuses it "
    "(SQLite does not mind)")
def test_association_on_postgresql_reads_back_with_the_apdb_api(postgres_url: str) -> None:
    ids = three_visits(postgres_url)
    apdb = Apdb.from_config(ApdbSqlConfig(db_url=postgres_url))
    objects = apdb.getDiaObjects(REGION)
    assert sorted(objects["diaObjectId"]) == sorted(ids)
    assert set(objects["validityStartMjdTai"]) == {61000.03}, "the current version is visit 3's"
    found = apdb.getDiaSources(REGION, ids, Time(61000.03, format="mjd", scale="tai"))
    assert found is not None and len(found) == 60


def test_apdb_cli_reads_the_sqlite_apdb_from_its_saved_config(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'apdb.sqlite3'}"
    three_visits(url)
    saved = config_path(url)
    assert saved is not None and saved.exists()
    cli = Path(sys.executable).with_name("apdb-cli")
    shown = subprocess.run([str(cli), "metadata", "show", str(saved)], capture_output=True,
                           text=True, check=True).stdout
    assert "version:schema" in shown
    sources_seen = Apdb.from_uri(str(saved)).getDiaSources(
        REGION, None, Time(61000.03, format="mjd", scale="tai"))
    assert sources_seen is not None and len(sources_seen) == 60
