"""The simulated camera's image cycle, apart from messaging: requests, names, readout.

``Camera.parse_request`` turns ``takeImages`` arguments into an ``ImageRequest`` (ValueError
naming what is wrong: numImages < 1, an unknown sensor, a bad keyValueMap).
``Camera.render_ahead`` queues a science visit's snaps (and the next ``render_ahead`` visits')
to the niced rendering pool, when the visit is asked for; ``Camera.new_image`` names the next
image and registers it in the DAQ store; ``Camera.read_out`` copies each CCD's rendered
pixels from the render cache into the DAQ store (rendering any that are not there yet) and
lasts at least ``readout_time``, as the camera's readout does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import Field

from dmcs.payloads.camera.camera import CameraModel, CameraSimulator
from dmcs.payloads.camera.focal_plane import FocalPlane
from dmcs.payloads.camera.render_cache import RenderCache, RenderedSnap
from dmcs.payloads.camera.sky import SkyParameters, SyntheticSky
from dmcs.payloads.config import DEFAULT_DETECTORS
from dmcs.sal.tai import current_tai, utc_from_tai
from dmcs.sims.camera_render import RenderPool
from dmcs.sims.daq_store import DaqImage, DaqStore
from dmcs.sims.data_dirs import data_dir
from dmcs.validation import StrictModel

IMAGE_TYPES = ("BIAS", "DARK", "FLAT", "OBJECT")
CALIBRATION_KIND = {"BIAS": "bias", "DARK": "dark", "FLAT": "flat"}
DAYOBS_OFFSET = timedelta(hours=12)


class CameraConfig(StrictModel):
    """What the simulated camera reads out and where its DAQ store is."""

    instrument: str = "LSSTCam"
    image_source: str = Field("MC", pattern=r"^[A-Z]{2}$")
    image_controller: str = Field("O", pattern=r"^[A-Z]$")
    seed: int = Field(1, ge=0)
    detector_size: int = Field(512, ge=128, le=8192, multiple_of=16)
    detectors: list[str] = Field(default_factory=lambda: list(DEFAULT_DETECTORS), min_length=1)
    star_density_per_arcmin2: float = Field(100.0, gt=0)
    transient_density_per_arcmin2: float = Field(3.0, ge=0)
    daq_root: str = ""
    daq_capacity: int = Field(1000, ge=1)
    #: Integration lasts expTime x this, a readout readout_time x this (0.01 plays a 30 s
    #: visit in 0.3 s).
    exposure_time_scale: float = Field(1.0, ge=0)
    #: Seconds a readout lasts at the least (the real camera reads out in 2 s).
    readout_time: float = Field(2.0, ge=0)
    #: Rendered snaps, reused across runs; "" is render_cache/ beside the DAQ store.
    render_cache: str = ""
    render_cache_gb: float = Field(20.0, gt=0)
    #: Niced processes rendering ahead of readouts (0: render at readout, in the camera).
    render_workers: int = Field(1, ge=0)
    #: Visits after the one being taken whose snaps are rendered ahead too.
    render_ahead: int = Field(1, ge=0)

    @property
    def cache_bytes(self) -> int:
        return int(self.render_cache_gb * 1e9)

    def simulator(self) -> CameraSimulator:
        sky = SyntheticSky(SkyParameters(
            seed=self.seed, star_density_per_arcmin2=self.star_density_per_arcmin2,
            transient_density_per_arcmin2=self.transient_density_per_arcmin2,
        ))
        return CameraSimulator(CameraModel(detector_size=self.detector_size), sky, self.seed)


@dataclass(frozen=True)
class ImageRequest:
    """A validated takeImages: how many images, of what, on which CCDs."""

    num_images: int
    exposure_time: float
    image_type: str
    group_id: str
    visit: int | None
    detectors: tuple[str, ...]
    key_values: dict[str, str]

    @property
    def additional_keys(self) -> str:
        return ":".join(self.key_values)

    @property
    def additional_values(self) -> str:
        return ":".join(self.key_values.values())


def parse_key_value_map(text: str) -> dict[str, str]:
    """``"imageType: BIAS, groupId: x"`` -> {"imageType": "BIAS", "groupId": "x"}."""
    pairs: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition(":")
        if not sep or not key.strip():
            raise ValueError(f"keyValueMap item {item!r} is not 'key: value'")
        pairs[key.strip()] = value.strip()
    return pairs


def dayobs_of(tai: float) -> str:
    """The observing day (YYYYMMDD) of a TAI time: the date at UTC-12h, as the camera uses."""
    return (datetime.fromtimestamp(utc_from_tai(tai), UTC) - DAYOBS_OFFSET).strftime("%Y%m%d")


class Camera:
    """Names images, registers them in the DAQ store and fills it with rendered pixels."""

    def __init__(self, config: CameraConfig, daq: DaqStore) -> None:
        self.config = config
        self.daq = daq
        self.focal_plane = FocalPlane(config.detector_size)
        for name in config.detectors:
            self.focal_plane.detector(name)
        self.cache = render_cache(config)
        self.simulator = self.cache.simulator
        self.pool = (
            RenderPool(config, self.cache, config.render_workers)
            if config.render_workers > 0 else None
        )

    def close(self) -> None:
        """Stop the rendering pool (snaps it had not rendered are rendered at readout)."""
        if self.pool is not None:
            self.pool.close()

    def render_ahead(self, request: ImageRequest) -> int:
        """Queue the snaps of a science request's visit and of the next visits; how many."""
        if self.pool is None or request.image_type != "OBJECT" or request.visit is None:
            return 0
        visits = range(request.visit, request.visit + 1 + self.config.render_ahead)
        return self.pool.ahead(visits, request.detectors)

    def parse_request(self, num_images: int, exp_time: float, sensors: str,
                      key_value_map: str) -> ImageRequest:
        if num_images < 1:
            raise ValueError(f"numImages must be >= 1, got {num_images}")
        if exp_time < 0:
            raise ValueError(f"expTime must be >= 0, got {exp_time}")
        names = [s.strip() for s in sensors.replace(",", ":").split(":") if s.strip()]
        unknown = [n for n in names if n not in self.focal_plane.names]
        if unknown:
            raise ValueError(f"unknown sensor(s) {', '.join(unknown)}: expected names like "
                             "'R22_S11' (rafts R01..R43 without corners, sensors S00..S22)")
        key_values = parse_key_value_map(key_value_map)
        image_type = key_values.get("imageType", "OBJECT").upper()
        if image_type not in IMAGE_TYPES:
            raise ValueError(f"imageType {image_type!r} is not one of {', '.join(IMAGE_TYPES)}")
        visit_text = key_values.get("visit")
        if visit_text is not None and not visit_text.isdigit():
            raise ValueError(f"visit {visit_text!r} is not a non-negative integer")
        return ImageRequest(
            num_images, exp_time, image_type, key_values.get("groupId", ""),
            int(visit_text) if visit_text is not None else None,
            tuple(names or self.config.detectors), key_values,
        )

    def new_image(self, request: ImageRequest, index: int, start_tai: float,
                  first_number: int | None) -> DaqImage:
        """Image ``index`` (1-based) of a request, named and registered in the DAQ store.

        ``first_number`` is the image number of the sequence's first image (None for the
        first image itself); it is the visit number when the request names none.
        DaqFullError when the DAQ holds only unarchived images.
        """
        dayobs = dayobs_of(start_tai)
        number = self.daq.next_image_number(dayobs)
        c = self.config
        visit = request.visit if request.visit is not None else (first_number or number)
        image = DaqImage(
            name=f"{c.image_source}_{c.image_controller}_{dayobs}_{number:06d}",
            number=number, dayobs=dayobs, instrument=c.instrument,
            image_type=request.image_type, group_id=request.group_id, visit=visit,
            snap=index - 1, exposure_time=request.exposure_time, date_obs=start_tai,
            detectors=request.detectors, key_values=request.key_values,
        )
        self.daq.begin_image(image)
        return image

    def rendered(self, image: DaqImage, detector_name: str) -> RenderedSnap:
        """One CCD of ``image`` from the render cache, rendered now if it is not there."""
        detector = self.focal_plane.detector(detector_name)
        kind = CALIBRATION_KIND.get(image.image_type)
        if kind is not None:
            return self.cache.calibration(kind, image.number, detector, image.exposure_time)
        if self.pool is not None:
            self.pool.wait_or_take_over(self.cache.science_key(image.visit, detector, image.snap))
        return self.cache.science_snap(image.visit, detector, image.snap)

    @property
    def readout_seconds(self) -> float:
        return self.config.readout_time * self.config.exposure_time_scale

    def read_out(self, image: DaqImage) -> float:
        """Copy every CCD of ``image`` into the DAQ store, taking at least the readout time;
        mark it complete; the end TAI (blocking)."""
        due = time.monotonic() + self.readout_seconds
        for detector in image.detectors:
            self.daq.put_ccd_file(image.name, detector, self.rendered(image, detector))
        time.sleep(max(0.0, due - time.monotonic()))
        end = current_tai()
        self.daq.complete_image(image.name, end)
        return end


def daq_root(config: CameraConfig) -> Path:
    """The configured DAQ store directory, or ``$DMCS_HOME/daq``."""
    return Path(config.daq_root) if config.daq_root else data_dir("daq")


def render_cache(config: CameraConfig) -> RenderCache:
    """The configured render cache of this camera's sky, or ``render_cache/`` beside the DAQ
    store (so a camera keeps its data together, ``$DMCS_HOME`` by default)."""
    root = Path(config.render_cache) if config.render_cache else daq_root(config).parent / (
        "render_cache")
    return RenderCache(root, config.simulator(), config.cache_bytes)
