"""The repository: created once with LSSTCam registered, opened by any number of writers, on
SQLite or PostgreSQL, readable by Rubin's own `butler` command; bad registry URLs refused."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from lsst.daf.butler import Butler, ButlerConfig, CollectionType

from dmcs.butler.registry_url import RegistryUnreachable
from dmcs.butler.repository import open_repository
from dmcs.sal.broker import free_port
from tests.butler.conftest import ingest_visit

BUTLER = str(Path(sys.executable).with_name("butler"))


def butler_cli(*args: str) -> str:
    done = subprocess.run([BUTLER, *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_new_repository_has_lsstcam_its_detectors_filters_and_collections(
    repo: Butler, repo_root: Path,
) -> None:
    detectors = repo.query_dimension_records("detector", instrument="LSSTCam")
    assert len(detectors) == 189
    assert {r.name for r in repo.query_dimension_records("physical_filter")} == {
        *"ugrizy", "empty", "unknown"}
    assert {t.name for t in repo.registry.queryDatasetTypes()} >= {
        "raw", "bias", "dark", "flat", "calexp", "diffim", "src", "diasrc"}
    assert repo.registry.getCollectionType("LSSTCam/calib") is CollectionType.CALIBRATION
    assert list(repo.registry.getCollectionChain("LSSTCam/defaults")) == [
        "LSSTCam/raw/all", "LSSTCam/calib", "LSSTCam/prompt"]
    listed = butler_cli("query-dimension-records", str(repo_root), "detector")
    assert "R22_S11" in listed and "R43_S22" in listed


def test_writers_opening_at_once_register_everything_once(tmp_path: Path) -> None:
    root = tmp_path / "shared"
    start = threading.Barrier(3)

    def opener(_: int) -> int:
        start.wait()
        return len(open_repository(root).query_dimension_records("detector"))

    with ThreadPoolExecutor(3) as pool:
        assert list(pool.map(opener, range(3))) == [189] * 3
    again = open_repository(root)
    assert len(again.query_dimension_records("detector")) == 189
    assert len(again.query_dimension_records("physical_filter")) == 8


def test_rubins_butler_command_lists_and_retrieves_the_raws(
    repo: Butler, repo_root: Path, tmp_path: Path,
) -> None:
    ingest_visit(repo, repo_root, 1, ["R22_S11", "R22_S12"])
    listed = butler_cli("query-datasets", str(repo_root), "raw", "--collections",
                        "LSSTCam/raw/all")
    assert listed.count("LSSTCam/raw/all") == 2 and "2026113000010" in listed
    butler_cli("retrieve-artifacts", str(repo_root), f"{tmp_path / 'out'}/",
               "--collections", "LSSTCam/raw/all")
    copies = sorted((tmp_path / "out").rglob("*.fits"))
    originals = sorted((repo_root / "LSSTCam").rglob("*.fits"))
    assert [c.read_bytes() for c in copies] == [o.read_bytes() for o in originals]


def test_a_postgresql_registry_holds_the_repository(postgres_url: str, tmp_path: Path) -> None:
    root = tmp_path / "pg"
    butler = open_repository(root, postgres_url)
    ingest_visit(butler, root, 1, ["R22_S11"])
    assert not list(root.glob("*.sqlite*"))
    assert ButlerConfig(str(root))["registry", "db"].startswith("postgresql+psycopg://")
    reopened = open_repository(root, postgres_url)
    assert len(reopened.query_datasets("raw", collections="LSSTCam/raw/all")) == 1
    assert len(reopened.query_dimension_records("detector")) == 189


def test_an_unsupported_scheme_is_refused_naming_what_works(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'mysql://u:\*\*\*@h/db' is not supported; use "
                                         r".*sqlite:///<path>.*postgresql://") as refused:
        open_repository(tmp_path / "r", "mysql://u:secret@h/db")
    assert "secret" not in str(refused.value)
    assert not (tmp_path / "r").exists()


def test_a_url_libpq_cannot_parse_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'postgresql://u:\*\*\*@h/db\?bogus=1': invalid URI"):
        open_repository(tmp_path / "r", "postgresql://u:secret@h/db?bogus=1")


def test_an_unreachable_server_is_named_with_the_cause_and_no_password(tmp_path: Path) -> None:
    url = f"postgresql://dmcs:secret@127.0.0.1:{free_port()}/registry"
    with pytest.raises(RegistryUnreachable) as unreachable:
        open_repository(tmp_path / "r", url)
    message = str(unreachable.value)
    assert message.startswith(f"Butler registry {url.replace(':secret@', ':***@')}: connection")
    assert "refused" in message and "secret" not in message
    assert isinstance(unreachable.value, OSError)
    assert not (tmp_path / "r" / "butler.yaml").exists()
