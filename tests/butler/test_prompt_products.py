"""Prompt products put through the Butler: per-night RUNs chained in LSSTCam/prompt, read back
as they went in, put once; image files registered in place; a CCD whose raws are not in waits
and goes in once they are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from lsst.daf.butler import Butler

from dmcs.butler.prompt_products import PromptOutputs, UnknownVisit
from dmcs.butler.repository import open_repository
from dmcs.payloads.association.butler_outputs import ButlerPublisher, CcdOutputs
from dmcs.payloads.camera.exposure import DataBundle, Exposure, exposure_to_bundle
from dmcs.payloads.camera.focal_plane import FocalPlane, Pointing
from dmcs.payloads.differencing.dia_sources import DIA_SOURCE_DTYPE
from dmcs.payloads.io.compression import TileCompression
from dmcs.payloads.storage import write_bundle
from tests.butler.conftest import DAYOBS, ingest_visit


def calexp(level: float) -> Exposure:
    rng = np.random.default_rng(0)
    focal_plane = FocalPlane(64)
    wcs = focal_plane.wcs(focal_plane.detector("R22_S11"), Pointing(150.0, 2.0, 0.0))
    return Exposure(rng.normal(level, 3.0, (64, 64)).astype(np.float32),
                    np.zeros((64, 64), np.int32), np.full((64, 64), 9.0, np.float32), wcs,
                    {"VISIT": 1, "DETECTOR": "R22_S11"})


def dia_sources(count: int) -> np.ndarray:
    table = np.zeros(count, dtype=DIA_SOURCE_DTYPE)
    table["diaSourceId"] = np.arange(count) + 7
    table["psfFlux"] = np.linspace(1.0, 2.0, count)
    return table


@pytest.fixture
def outputs(repo: Butler, repo_root: Path) -> PromptOutputs:
    ingest_visit(repo, repo_root, 1, ["R22_S11"])
    return PromptOutputs(repo)


def test_products_read_back_as_they_were_put(outputs: PromptOutputs, repo: Butler) -> None:
    image = calexp(100.0)
    outputs.put("calexp", image, visit=1, detector="R22_S11")
    outputs.put("diasrc", dia_sources(5), visit=1, detector="R22_S11")
    data_id = {"instrument": "LSSTCam", "visit": 1, "detector": 94}
    got = repo.get("calexp", data_id, collections="LSSTCam/prompt")
    assert np.array_equal(got.image, image.image) and np.array_equal(got.mask, image.mask)
    assert got.wcs is not None and got.metadata["VISIT"] == 1
    table = repo.get("diasrc", data_id, collections="LSSTCam/defaults")
    assert list(table["diaSourceId"]) == [7, 8, 9, 10, 11]
    assert np.allclose(table["psfFlux"], np.linspace(1.0, 2.0, 5))
    uri = repo.getURI("diasrc", data_id, collections="LSSTCam/prompt")
    assert uri.ospath.endswith(".parq") and f"LSSTCam/prompt/{DAYOBS}" in uri.ospath


def test_each_night_has_its_run_newest_first_in_the_chain(
    outputs: PromptOutputs, repo: Butler, repo_root: Path,
) -> None:
    ingest_visit(repo, repo_root, 2, ["R22_S11"], dayobs="20261201")
    outputs.put("src", dia_sources(1), visit=2, detector="R22_S11")  # the later night first
    ref = outputs.put("src", dia_sources(1), visit=1, detector="R22_S11")
    assert ref.run == f"LSSTCam/prompt/{DAYOBS}"  # the visit's night, whatever the order
    assert list(repo.registry.getCollectionChain("LSSTCam/prompt")) == [
        "LSSTCam/prompt/20261201", f"LSSTCam/prompt/{DAYOBS}"]


def test_a_product_put_again_keeps_the_first(outputs: PromptOutputs, repo: Butler) -> None:
    first = outputs.put("src", dia_sources(3), visit=1, detector="R22_S11")
    second = outputs.put("src", dia_sources(9), visit=1, detector="R22_S11")
    assert first.id == second.id
    assert len(repo.get(first)) == 3
    assert len(repo.query_datasets("src", collections="LSSTCam/prompt")) == 1


def test_a_product_of_a_visit_without_raws_or_of_an_unknown_type_is_refused(
    outputs: PromptOutputs,
) -> None:
    with pytest.raises(UnknownVisit, match="visit 2 is not in the repository yet"):
        outputs.put("calexp", calexp(1.0), visit=2, detector="R22_S11")
    with pytest.raises(ValueError, match="'coadd' is not a prompt product"):
        outputs.put("coadd", calexp(1.0), visit=1, detector="R22_S11")


def test_an_image_file_is_registered_where_it_was_written(
    outputs: PromptOutputs, repo: Butler, tmp_path: Path,
) -> None:
    image = calexp(100.0)
    path = write_bundle(tmp_path / "outputs" / "calexp", exposure_to_bundle(image), "fits",
                        TileCompression())
    ref = outputs.ingest("calexp", path, visit=1, detector="R22_S11")
    again = outputs.ingest("calexp", path, visit=1, detector="R22_S11")
    assert again.id == ref.id and repo.getURI(ref).ospath == str(path.resolve())
    got = repo.get(ref)
    assert np.array_equal(got.mask, image.mask)  # masks are compressed losslessly
    assert np.abs(got.image - image.image).max() < 0.2  # floats quantized at sigma / 10
    with pytest.raises(ValueError, match="'src' is not an image product"):
        outputs.ingest("src", path, visit=1, detector="R22_S11")


def _ccd_files(directory: Path, visit: int) -> CcdOutputs:
    """A CCD's calexp and diasrc files, as alert production writes them."""
    calexp_path = write_bundle(directory / "calexp", exposure_to_bundle(calexp(5.0)), "fits")
    diasrc_path = write_bundle(directory / "diasrc",
                               DataBundle({"diasources": dia_sources(2)}, {}), "fits")
    return CcdOutputs(visit, "R22_S11", {"calexp": str(calexp_path), "diasrc": str(diasrc_path)})


def test_products_of_a_visit_without_raws_wait_and_go_in_once_the_raws_do(
    repo: Butler, repo_root: Path, tmp_path: Path,
) -> None:
    publisher = ButlerPublisher(repo_root, tmp_path / "pending")
    ccd = _ccd_files(tmp_path, 3)
    assert not publisher.publish(ccd)
    assert publisher.retry(force=True) == 1 and publisher.published == 0
    ingest_visit(repo, repo_root, 3, ["R22_S11"])
    assert publisher.retry(force=True) == 0 and publisher.published == 1
    data_id = {"instrument": "LSSTCam", "visit": 3, "detector": 94}
    assert list(repo.get("diasrc", data_id, collections="LSSTCam/prompt")["diaSourceId"]) == [
        7, 8]
    assert repo.getURI("calexp", data_id, collections="LSSTCam/prompt").ospath == \
        ccd.files["calexp"]
    assert not list((tmp_path / "pending").iterdir()), "the manifest goes once published"


def test_what_a_killed_publisher_left_waiting_another_publishes(
    repo: Butler, repo_root: Path, tmp_path: Path,
) -> None:
    ccd = _ccd_files(tmp_path, 4)
    assert not ButlerPublisher(repo_root, tmp_path / "pending").publish(ccd)  # then it dies
    ingest_visit(repo, repo_root, 4, ["R22_S11"])
    restarted = ButlerPublisher(repo_root, tmp_path / "pending")
    assert [c.visit for c in restarted.pending()] == [4]
    assert restarted.retry() == 0 and restarted.published == 1
    assert len(repo.query_datasets("diasrc", collections="LSSTCam/prompt")) == 1


def test_products_wait_for_a_repository_not_made_yet(tmp_path: Path) -> None:
    publisher = ButlerPublisher(tmp_path / "not-yet", tmp_path / "pending")
    ccd = _ccd_files(tmp_path, 1)
    assert not publisher.publish(ccd)
    assert publisher.drain(0.0) == 1 and publisher.pending() == [ccd]
    open_repository(tmp_path / "not-yet")
    ingest_visit(Butler.from_config(str(tmp_path / "not-yet"), writeable=True),
                 tmp_path / "not-yet", 1, ["R22_S11"])
    assert publisher.drain(0.0) == 0 and publisher.published == 1
