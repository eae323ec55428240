"""A small night's Butler repository, made by the real parts: the camera simulator's DAQ, the
header service's files, the Archiver, the calib-* payloads and the prompt-products API.

Two science visits of two snaps on two 128-px CCDs, one bias image, masters certified by the
calibration payloads, and a calexp and a DIASource table of visit 1 put as prompt products.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from dmcs.butler.prompt_products import PromptOutputs
from dmcs.butler.repository import open_repository
from dmcs.payloads.camera.exposure import Exposure
from dmcs.payloads.differencing.dia_sources import DIA_SOURCE_DTYPE
from dmcs.payloads.pipelines import PIPELINES
from dmcs.sal.interfaces import MT_CAMERA
from dmcs.sal.tai import current_tai
from dmcs.services.archiver.archiver import Archiver, HeaderRef
from dmcs.services.archiver.workers import WorkerKind, make_pool
from dmcs.sims.camera import Camera, CameraConfig
from dmcs.sims.daq_store import DaqImage, DaqStore
from dmcs.sims.header import write_header

DETECTORS = ["R22_S11", "R22_S12"]
SIZE = 128


def _header(image: DaqImage, root: Path, key_values: str) -> HeaderRef:
    keys, values = zip(*(pair.split(": ") for pair in key_values.split(", ")), strict=True)
    event = MT_CAMERA.events["endOfImageTelemetry"](
        imageName=image.name, imageDate=image.dayobs, imageNumber=image.number,
        additionalKeys=":".join(keys), additionalValues=":".join(values), exposureTime=15.0,
        timestampDateObs=image.date_obs, timestampDateEnd=image.date_end, imageController="O")
    science = image.image_type == "OBJECT"
    visit = SimpleNamespace(position=[150.0, 2.0], cameraAngle=0.0, filters="r",
                            survey="science") if science else None
    written = write_header(root, event, "LSSTCam", visit)
    return HeaderRef(written.path, written.md5)


def _take(camera: Camera, count: int, key_values: str) -> list[DaqImage]:
    request = camera.parse_request(count, 15.0, "", key_values)
    images, first = [], None
    for index in range(1, count + 1):
        image = camera.new_image(request, index, current_tai(), first)
        first = first or image.number
        camera.read_out(image)
        images.append(camera.daq.image(image.name))
    return images


def _calibrate(data: Path, repo: Path) -> None:
    config = {"detectors": DETECTORS, "detector_size": SIZE, "n_exposures": 3, "exptime": 1.0,
              "calib_dir": str(data / "calib"), "butler_repo": str(repo)}
    for kind in ("bias", "dark", "flat"):
        pipeline = PIPELINES[f"calib-{kind}"](config, data / "jobs" / f"calib-{kind}" / "outputs")
        items = pipeline.plan("")
        pipeline.setup()
        pipeline.finalize({item: pipeline.run_item(item) for item in items})


def make_night(data: Path) -> Path:
    """The night under ``data``; its repository's path (the night report's butler_repo)."""
    repo = data / "archive"
    camera = Camera(CameraConfig.model_validate({"detector_size": SIZE, "detectors": DETECTORS}),
                    DaqStore(data / "daq"))
    butler = open_repository(repo)
    with make_pool(WorkerKind.THREAD, 2) as pool:
        archiver = Archiver(repo, camera.daq, butler, data / "headers", pool, "Archiver", "1.0")
        takes = ["imageType: BIAS", *(f"imageType: OBJECT, groupId: night_science_{v:04d}, "
                                      f"visit: {v}" for v in (1, 2))]
        for key_values in takes:
            for image in _take(camera, 1 if "BIAS" in key_values else 2, key_values):
                archiver.archive_image(image, image.detectors,
                                       _header(image, data / "headers", key_values))
    _calibrate(data, repo)
    rng = np.random.default_rng(3)
    image = rng.normal(100.0, 3.0, (SIZE, SIZE)).astype(np.float32)
    calexp = Exposure(image, np.zeros((SIZE, SIZE), np.int32), np.full_like(image, 9.0), None,
                      {"VISIT": 1, "DETECTOR": "R22_S11"})
    sources = np.zeros(3, dtype=DIA_SOURCE_DTYPE)
    sources["diaSourceId"] = [11, 12, 13]
    outputs = PromptOutputs(butler)
    outputs.put("calexp", calexp, visit=1, detector="R22_S11")
    outputs.put("diasrc", sources, visit=1, detector="R22_S11")
    return repo
