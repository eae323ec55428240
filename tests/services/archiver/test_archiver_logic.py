"""Archiving called directly: valid FITS where the docs say, raws in the Butler exactly once
(also with two archivers racing, and with worker processes), bad DAQ data, a lost registry."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import psycopg
import pytest
from astropy.io import fits
from lsst.daf.butler import Butler

from dmcs.butler.raws import all_raws
from dmcs.butler.repository import open_repository
from dmcs.sal.interfaces import MT_CAMERA
from dmcs.sal.tai import current_tai
from dmcs.services.archiver.archiver import Archiver, HeaderRef
from dmcs.services.archiver.audit import audit_archive
from dmcs.services.archiver.ccd_writer import ARCHIVED, DAQ_DATA_BAD, WRITE_FAILED
from dmcs.services.archiver.raw_fits import verify
from dmcs.services.archiver.workers import WorkerKind, make_pool
from dmcs.sims.camera import Camera, CameraConfig
from dmcs.sims.daq_store import CcdState, DaqImage, DaqStore
from dmcs.sims.header import write_header

DETECTORS = ["R22_S11", "R22_S12"]
RAW_RUN = "LSSTCam/raw/all"


def make_archiver(tmp_path: Path, kind: WorkerKind = WorkerKind.THREAD,
                  registry_url: str = "") -> Archiver:
    butler = open_repository(tmp_path / "archive", registry_url)
    return Archiver(tmp_path / "archive", DaqStore(tmp_path / "daq"), butler,
                    tmp_path / "headers", make_pool(kind, 2), "Archiver", "1.0.0")


@pytest.fixture
def camera(tmp_path: Path) -> Camera:
    config = CameraConfig.model_validate({"detector_size": 128, "detectors": DETECTORS})
    return Camera(config, DaqStore(tmp_path / "daq"))


@pytest.fixture
def archiver(tmp_path: Path) -> Iterator[Archiver]:
    archiver = make_archiver(tmp_path)
    yield archiver
    archiver.pool.shutdown()


def take(camera: Camera, key_value_map: str = "imageType: OBJECT, visit: 3") -> DaqImage:
    request = camera.parse_request(1, 15.0, "", key_value_map)
    image = camera.new_image(request, 1, current_tai(), None)
    camera.read_out(image)
    return camera.daq.image(image.name)


def header_for(image: DaqImage, root: Path) -> HeaderRef:
    event = MT_CAMERA.events["endOfImageTelemetry"](
        imageName=image.name, imageDate=image.dayobs, imageNumber=image.number,
        additionalKeys="imageType:visit", additionalValues="OBJECT:3", exposureTime=15.0,
        timestampDateObs=image.date_obs, timestampDateEnd=image.date_end, imageController="O")
    written = write_header(root, event, "LSSTCam", None)
    return HeaderRef(written.path, written.md5)


def exposure_id(image: DaqImage) -> int:
    return int(image.dayobs) * 100_000 + image.number


def raw_count(butler: Butler) -> int:
    return len(all_raws(butler))


def test_an_image_becomes_verified_fits_files_and_raws_in_the_butler(
    camera: Camera, archiver: Archiver, tmp_path: Path,
) -> None:
    image = take(camera)
    header = header_for(image, tmp_path / "headers")
    outcomes = archiver.archive_image(image, DETECTORS, header)
    assert [(o.status_code, o.newly_archived) for o in outcomes] == [(ARCHIVED, True)] * 2
    path = (tmp_path / "archive" / "LSSTCam" / image.dayobs / image.name
            / f"{image.name}_R22_S12.fits")
    butler = Butler.from_config(str(tmp_path / "archive"))
    data_id = {"instrument": "LSSTCam", "detector": 95, "exposure": exposure_id(image)}
    assert butler.getURI("raw", data_id, collections=RAW_RUN).ospath == str(path)
    read_back = butler.get("raw", data_id, collections=RAW_RUN)
    with fits.open(path) as hdus:
        assert len(read_back) == len(hdus) == 17
        for ours, theirs in zip(read_back, hdus, strict=True):
            assert ours.header == theirs.header
            assert ours.data is None if theirs.data is None else np.array_equal(
                ours.data, theirs.data)
        primary = hdus[0].header
        assert (primary["OBSID"], primary["RAFTBAY"], primary["CCDSLOT"]) == (
            image.name, "R22", "S12")
        assert primary["DATE-OBS"].startswith(image.dayobs[:4])  # from the header service
        assert primary["VISIT"] == 3  # from the DAQ's CCD metadata
        assert primary["DAQMD5"] == camera.daq.ccd_md5(image.name, "R22_S12")
        assert primary["HEADURL"] == header.path.as_uri() and primary["HEADMD5"] == header.md5
    md5 = outcomes[1].description.split(" md5 ")[1].split()[0]
    verify(path, md5)
    assert outcomes[1].byte_size == path.stat().st_size
    assert butler.get("raw.header", data_id, collections=RAW_RUN)["OBSID"] == image.name
    exposure = butler.query_dimension_records("exposure", data_id=data_id)[0]
    assert (exposure.obs_id, exposure.observation_type, exposure.seq_num) == (
        image.name, "science", image.number)
    assert butler.query_dimension_records("visit", data_id={"instrument": "LSSTCam",
                                                            "visit": 3})[0].name == image.name
    if shutil.which("fitsverify"):
        check = subprocess.run(["fitsverify", "-q", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout
    again = archiver.archive_image(image, DETECTORS, header)
    assert [(o.status_code, o.newly_archived, o.recovered) for o in again] == [
        (ARCHIVED, False, False)] * 2
    assert raw_count(butler) == 2
    assert camera.daq.ccd_state(image.name, "R22_S12") == CcdState.ARCHIVED


def test_without_a_header_a_bias_is_still_archived_through_the_empty_filter(
    camera: Camera, archiver: Archiver,
) -> None:
    image = take(camera, "imageType: BIAS")
    outcomes = archiver.archive_image(image, ["R22_S11"], archiver.find_header(image))
    assert outcomes[0].status_code == ARCHIVED
    assert "no header from the header service" in outcomes[0].description
    data_id = {"instrument": "LSSTCam", "detector": 94, "exposure": exposure_id(image)}
    header = archiver.butler.get("raw.header", data_id, collections=RAW_RUN)
    assert header["HEADURL"] == "" and header["IMGTYPE"] == "bias"
    exposure = archiver.butler.query_dimension_records("exposure", data_id=data_id)[0]
    assert (exposure.physical_filter, exposure.observation_type) == ("empty", "bias")


def test_a_damaged_daq_file_fails_that_ccd_only_and_is_not_retried(
    camera: Camera, archiver: Archiver, tmp_path: Path,
) -> None:
    image = take(camera)
    damaged = camera.daq.ccd_path(image.name, "R22_S11")
    data = bytearray(damaged.read_bytes())
    data[-10] ^= 0xFF
    damaged.write_bytes(bytes(data))
    outcomes = {f"{o.raft}_{o.sensor}": o for o in archiver.archive_image(image, DETECTORS, None)}
    assert (outcomes["R22_S11"].status_code, outcomes["R22_S12"].status_code) == (
        DAQ_DATA_BAD, ARCHIVED)
    assert str(damaged) in outcomes["R22_S11"].description
    assert "checksum mismatch" in outcomes["R22_S11"].description
    assert archiver.pending() == []
    assert camera.daq.ccd_state(image.name, "R22_S11") == CcdState.FAILED
    audit = audit_archive(archiver.butler, tmp_path / "archive")
    assert (audit.records, audit.files, audit.ok) == (1, 1, True)


def test_audit_notices_a_damaged_file_a_swapped_file_and_a_stray_one(
    camera: Camera, archiver: Archiver, tmp_path: Path,
) -> None:
    image = take(camera)
    archiver.archive_image(image, DETECTORS, None)
    folder = tmp_path / "archive" / "LSSTCam" / image.dayobs / image.name
    damaged = folder / f"{image.name}_R22_S11.fits"
    data = bytearray(damaged.read_bytes())
    data[-200] ^= 0x01
    damaged.write_bytes(bytes(data))
    shutil.copy(folder / f"{image.name}_R22_S12.fits", folder / "stray.fits")
    audit = audit_archive(archiver.butler, tmp_path / "archive")
    assert (audit.records, audit.files) == (2, 3) and not audit.ok
    assert len(audit.checksum_failures) == 1 and str(damaged) in audit.checksum_failures[0]
    assert audit.uncatalogued_files == [str((folder / "stray.fits").resolve())]
    shutil.copy(folder / f"{image.name}_R22_S12.fits", damaged)
    swapped = audit_archive(archiver.butler, tmp_path / "archive")
    assert swapped.checksum_failures == [
        f"{damaged}: holds {image.name} R22_S12, the Butler says {image.name} R22_S11"]


def test_two_archivers_racing_for_one_image_ingest_each_ccd_once(
    camera: Camera, tmp_path: Path,
) -> None:
    image = take(camera)
    racers = [make_archiver(tmp_path) for _ in range(2)]
    start = threading.Barrier(len(racers))

    def race(archiver: Archiver) -> list[int]:
        start.wait()
        return [o.status_code for o in archiver.archive_image(image, DETECTORS, None)]

    with ThreadPoolExecutor(len(racers)) as pool:
        results = list(pool.map(race, racers))
    assert results == [[ARCHIVED] * 2] * 2
    assert raw_count(Butler.from_config(str(tmp_path / "archive"))) == 2
    audit = audit_archive(racers[0].butler, tmp_path / "archive")
    assert (audit.records, audit.files, audit.ok) == (2, 2, True), audit
    for archiver in racers:
        archiver.pool.shutdown()


def test_worker_processes_archive_the_same_files(camera: Camera, tmp_path: Path) -> None:
    archiver = make_archiver(tmp_path, WorkerKind.PROCESS)
    try:
        image = take(camera)
        outcomes = archiver.archive_image(image, DETECTORS, None)
    finally:
        archiver.pool.shutdown()
    assert [o.status_code for o in outcomes] == [ARCHIVED] * 2
    audit = audit_archive(archiver.butler, tmp_path / "archive")
    assert (audit.records, audit.files, audit.ok) == (2, 2, True)


def test_a_registry_lost_mid_night_leaves_the_ccds_pending_and_says_why(
    camera: Camera, tmp_path: Path, postgres_url: str,
) -> None:
    archiver = make_archiver(tmp_path, registry_url=postgres_url)
    try:
        with psycopg.connect(postgres_url, autocommit=True) as db:
            db.execute("DROP TABLE file_datastore_records CASCADE")
        image = take(camera)
        outcomes = archiver.archive_image(image, DETECTORS, None)
    finally:
        archiver.pool.shutdown()
    assert {o.status_code for o in outcomes} == {WRITE_FAILED}
    assert outcomes[0].description.startswith(f"cannot register {tmp_path}")
    assert "in the Butler: " in outcomes[0].description
    assert len(archiver.pending()) == 2
