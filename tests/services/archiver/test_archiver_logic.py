"""Archiving called directly: valid FITS where the docs say, one catalog row, bad DAQ data."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from astropy.io import fits

from dmcs.sal.interfaces.camera import MT_CAMERA
from dmcs.sal.tai import current_tai
from dmcs.services.archiver.archiver import ARCHIVED, DAQ_DATA_BAD, Archiver, HeaderRef
from dmcs.services.archiver.audit import audit_archive
from dmcs.services.archiver.catalog import Catalog
from dmcs.services.archiver.raw_fits import verify
from dmcs.sims.camera import Camera, CameraConfig
from dmcs.sims.daq_store import CcdState, DaqImage, DaqStore
from dmcs.sims.header import write_header

DETECTORS = ["R22_S11", "R22_S12"]


@pytest.fixture
def parts(tmp_path: Path) -> tuple[Camera, Archiver]:
    config = CameraConfig.model_validate({"detector_size": 128, "detectors": DETECTORS})
    daq = DaqStore(tmp_path / "daq")
    archiver = Archiver(tmp_path / "archive", daq, Catalog(str(tmp_path / "catalog.sqlite")),
                        tmp_path / "headers", "Archiver", "1.0.0")
    return Camera(config, daq), archiver


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


def test_a_ccd_becomes_a_verified_fits_file_and_one_catalog_row(
    parts: tuple[Camera, Archiver], tmp_path: Path,
) -> None:
    camera, archiver = parts
    image = take(camera)
    header = header_for(image, tmp_path / "headers")
    outcome = archiver.archive_ccd(image, "R22_S12", header)
    assert (outcome.status_code, outcome.newly_archived) == (ARCHIVED, True)
    path = (tmp_path / "archive" / "LSSTCam" / image.dayobs / image.name
            / f"{image.name}_R22_S12.fits")
    record = archiver.catalog.get(image.name, "R22", "S12")
    assert record is not None and record.path == str(path)
    assert (record.visit, record.image_type, record.header_url) == (3, "OBJECT", header.url)
    assert record.daq_md5 == camera.daq.ccd_md5(image.name, "R22_S12")
    verify(path, record.md5)
    with fits.open(path) as hdus:
        assert len(hdus) == 17
        primary = hdus[0].header
        assert (primary["OBSID"], primary["RAFTBAY"], primary["CCDSLOT"]) == (
            image.name, "R22", "S12")
        assert primary["DATE-OBS"].startswith(image.dayobs[:4])  # from the header service
        assert primary["VISIT"] == 3  # from the DAQ's CCD metadata
        assert "CHECKSUM" in hdus[1].header
    if shutil.which("fitsverify"):
        check = subprocess.run(["fitsverify", "-q", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout
    again = archiver.archive_ccd(image, "R22_S12", header)
    assert (again.status_code, again.newly_archived) == (ARCHIVED, False)
    assert archiver.catalog.count() == 1
    assert camera.daq.ccd_state(image.name, "R22_S12") == CcdState.ARCHIVED


def test_without_a_header_the_ccd_is_still_archived_and_says_so(
    parts: tuple[Camera, Archiver],
) -> None:
    camera, archiver = parts
    image = take(camera, "imageType: BIAS")
    outcome = archiver.archive_ccd(image, "R22_S11", archiver.find_header(image))
    assert outcome.status_code == ARCHIVED
    assert "no header from the header service" in outcome.description
    record = archiver.catalog.get(image.name, "R22", "S11")
    assert record is not None and record.header_url == "" and record.image_type == "BIAS"


def test_a_damaged_daq_file_fails_that_ccd_only_and_is_not_retried(
    parts: tuple[Camera, Archiver], tmp_path: Path,
) -> None:
    camera, archiver = parts
    image = take(camera)
    damaged = camera.daq.ccd_path(image.name, "R22_S11")
    data = bytearray(damaged.read_bytes())
    data[-10] ^= 0xFF
    damaged.write_bytes(bytes(data))
    outcomes = [archiver.archive_ccd(image, d, None) for d in DETECTORS]
    assert [o.status_code for o in outcomes] == [DAQ_DATA_BAD, ARCHIVED]
    assert str(damaged) in outcomes[0].description and "md5 mismatch" in outcomes[0].description
    assert archiver.pending() == []
    assert camera.daq.ccd_state(image.name, "R22_S11") == CcdState.FAILED
    audit = audit_archive(archiver.catalog, tmp_path / "archive")
    assert (audit.records, audit.files, audit.ok) == (1, 1, True)


def test_audit_notices_a_damaged_archive_file(
    parts: tuple[Camera, Archiver], tmp_path: Path,
) -> None:
    camera, archiver = parts
    image = take(camera)
    archiver.archive_ccd(image, "R22_S11", None)
    record = archiver.catalog.get(image.name, "R22", "S11")
    assert record is not None
    path = Path(record.path)
    data = bytearray(path.read_bytes())
    data[-200] ^= 0x01
    path.write_bytes(bytes(data))
    audit = audit_archive(archiver.catalog, tmp_path / "archive")
    assert len(audit.checksum_failures) == 1 and not audit.ok
