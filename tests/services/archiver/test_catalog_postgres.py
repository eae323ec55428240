"""The backbone catalog on a real PostgreSQL server: SQLite's exactly-once contract, and
errors that name the URL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from dmcs.sal.broker import free_port
from dmcs.services.archiver.catalog import Catalog, CatalogUnreachable, RawRecord, redacted

RACERS = 8


def record(obsid: str = "MC_O_20261130_000001", detector: str = "R22_S11",
           date_obs: float = 1_795_996_800.25) -> RawRecord:
    """A row with no field at a default, and a size beyond 32 bits (BIGINT)."""
    raft, sensor = detector.split("_")
    return RawRecord(
        obsid=obsid, raft=raft, sensor=sensor, instrument="LSSTCam", dayobs="20261130",
        seqnum=1, image_type="OBJECT", group_id="20261130_science_0001", visit=7, snap=1,
        exposure_time=15.5, date_obs=date_obs, path=f"/archive/{obsid}_{detector}.fits",
        byte_size=5_000_000_000, md5="0" * 32, daq_md5="1" * 32,
        header_url=f"file:///headers/{obsid}_header.fits", header_md5="2" * 32,
        archiver="Archiver@host", archiver_version="1.0.0", archived_at=1_795_996_830.125,
    )


def test_a_registered_ccd_reads_back_field_for_field(postgres_url: str) -> None:
    catalog = Catalog(postgres_url)
    assert catalog.url == postgres_url
    assert catalog.register(record()) is True
    assert catalog.get("MC_O_20261130_000001", "R22", "S11") == record()
    assert catalog.get("MC_O_20261130_000001", "R22", "S12") is None


def test_registering_a_ccd_again_changes_nothing(postgres_url: str) -> None:
    catalog = Catalog(postgres_url)
    catalog.register(record())
    assert Catalog(postgres_url).register(replace(record(), md5="f" * 32)) is False
    assert catalog.count() == 1
    assert catalog.get("MC_O_20261130_000001", "R22", "S11") == record()


def test_archivers_racing_for_one_ccd_register_it_once(postgres_url: str) -> None:
    """Each racer opens the catalog (creating the schema) and registers at the same moment."""
    start = threading.Barrier(RACERS)

    def race(_: int) -> bool:
        start.wait()
        catalog = Catalog(postgres_url)
        start.wait()
        return catalog.register(record())

    with ThreadPoolExecutor(RACERS) as pool:
        won = list(pool.map(race, range(RACERS)))
    assert won.count(True) == 1
    assert Catalog(postgres_url).count() == 1


def test_records_come_by_observation_time_then_name_and_ccd(postgres_url: str) -> None:
    catalog = Catalog(postgres_url)
    rows = [record("MC_O_20261130_000002", "R22_S12", 20.0),
            record("MC_O_20261130_000002", "R22_S11", 20.0),
            record("MC_O_20261130_000003", "R22_S11", 10.0),
            record("MC_O_20261130_000001", "R22_S11", 20.0)]
    for row in rows:
        catalog.register(row)
    assert catalog.records() == [rows[2], rows[3], rows[1], rows[0]]


def test_an_unsupported_scheme_is_refused_naming_what_works() -> None:
    with pytest.raises(ValueError, match=r"'mysql://u:\*\*\*@h/db' is not supported; use "
                                         r"sqlite:///<path>.*postgresql://") as refused:
        Catalog("mysql://u:secret@h/db")
    assert "secret" not in str(refused.value)


def test_a_url_libpq_cannot_parse_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match=r"'postgresql://u:\*\*\*@h/db\?bogus=1': invalid URI"):
        Catalog("postgresql://u:secret@h/db?bogus=1")


def test_an_unreachable_server_is_named_with_the_cause_and_no_password() -> None:
    url = f"postgresql://dmcs:secret@127.0.0.1:{free_port()}/catalog"
    with pytest.raises(CatalogUnreachable) as unreachable:
        Catalog(url)
    message = str(unreachable.value)
    assert message.startswith(f"catalog {url.replace(':secret@', ':***@')}: connection")
    assert "refused" in message and "secret" not in message
    assert isinstance(unreachable.value, OSError)


def test_passwords_are_redacted_from_user_info_and_query() -> None:
    assert (redacted("postgres://u:p%40w@h:5432/db?sslmode=require&password=x")
            == "postgres://u:***@h:5432/db?sslmode=require&password=***")
    assert redacted("postgresql://u@h/db") == "postgresql://u@h/db"
