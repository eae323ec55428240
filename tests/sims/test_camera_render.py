"""The camera's pixels off the DM path: rendered ahead into a cache, a readout only copies."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import numpy as np
import pytest

from dmcs.payloads.camera.focal_plane import FocalPlane
from dmcs.sims.camera import Camera, CameraConfig, ImageRequest, render_cache
from dmcs.sims.camera_render import RENDER_NICENESS, RenderPool, prerender
from dmcs.sims.daq_store import DaqCorruptError, DaqImage, DaqStore

DETECTORS = ["R22_S11", "R22_S12"]


def camera_config(tmp_path: Path, **changes: object) -> CameraConfig:
    values = {
        "detector_size": 128,
        "detectors": DETECTORS,
        "daq_root": str(tmp_path / "daq"),
        "render_cache": str(tmp_path / "cache"),
        "exposure_time_scale": 1.0,
        "readout_time": 0.0,
        "render_workers": 0,
    }
    return CameraConfig.model_validate(values | changes)


def science_image(camera: Camera, visit: int, snap: int) -> DaqImage:
    request = ImageRequest(2, 15.0, "OBJECT", f"g{visit}", visit, tuple(DETECTORS), {})
    return camera.new_image(request, snap + 1, 1.9e9, None)


def cache_files(config: CameraConfig) -> dict[Path, int]:
    root = Path(config.render_cache)
    return {path: path.stat().st_mtime_ns for path in root.glob("??/*.npy")}


def test_a_readout_copies_the_prerendered_pixels_without_rendering(tmp_path: Path) -> None:
    config = camera_config(tmp_path)
    report = prerender(config, [3], workers=1)
    assert (report.rendered, report.already_cached) == (4, 0)
    rendered = cache_files(config)
    camera = Camera(config, DaqStore(tmp_path / "daq"))
    image = science_image(camera, 3, 1)
    camera.read_out(image)
    assert cache_files(config) == rendered, "nothing rendered again, nothing added"
    daq = DaqStore(tmp_path / "daq")
    raw = daq.read_raw(image.name, "R22_S12")
    expected = config.simulator().science_snap(3, FocalPlane(128).detector("R22_S12"), 1)
    assert all(np.array_equal(a, b) for a, b in zip(raw.amps, expected.amps, strict=True))
    assert raw.metadata == expected.metadata and raw.wcs is not None


def test_a_second_prerender_finds_everything_cached_and_another_sky_does_not(
    tmp_path: Path,
) -> None:
    config = camera_config(tmp_path)
    prerender(config, [1, 2], workers=0)
    again = prerender(config, [1, 2], workers=0)
    assert (again.rendered, again.already_cached) == (0, 8)
    other_seed = prerender(camera_config(tmp_path, seed=2), [1], workers=0)
    assert other_seed.rendered == 4, "the key covers the seed"
    other_size = prerender(camera_config(tmp_path, detector_size=256), [1], workers=0)
    assert other_size.rendered == 4, "and the camera model"


def test_a_readout_lasts_the_readout_time_even_when_copying_is_quicker(tmp_path: Path) -> None:
    config = camera_config(tmp_path, readout_time=2.0, exposure_time_scale=0.25)
    prerender(config, [1], workers=0)
    camera = Camera(config, DaqStore(tmp_path / "daq"))
    started = time.monotonic()
    camera.read_out(science_image(camera, 1, 0))
    assert time.monotonic() - started >= 0.5


def test_a_snap_missing_from_the_cache_is_rendered_at_readout_and_kept(tmp_path: Path) -> None:
    config = camera_config(tmp_path)
    camera = Camera(config, DaqStore(tmp_path / "daq"))
    camera.read_out(science_image(camera, 5, 0))
    assert len(cache_files(config)) == 2
    assert prerender(config, [5], workers=0).already_cached == 2


def test_calibration_frames_go_through_the_cache_too(tmp_path: Path) -> None:
    config = camera_config(tmp_path)
    camera = Camera(config, DaqStore(tmp_path / "daq"))
    request = ImageRequest(1, 0.0, "BIAS", "bias", None, tuple(DETECTORS), {})
    image = camera.new_image(request, 1, 1.9e9, None)
    camera.read_out(image)
    raw = camera.daq.read_raw(image.name, "R22_S11")
    assert raw.metadata["IMGTYPE"] == "bias"
    assert len(cache_files(config)) == 2


def test_a_cache_file_damaged_after_rendering_fails_the_daq_read_naming_it(
    tmp_path: Path,
) -> None:
    config = camera_config(tmp_path)
    prerender(config, [1], workers=0)
    for path in cache_files(config):
        data = bytearray(path.read_bytes())
        data[-1] ^= 0xFF
        path.write_bytes(bytes(data))
    camera = Camera(config, DaqStore(tmp_path / "daq"))
    image = science_image(camera, 1, 0)
    camera.read_out(image)
    with pytest.raises(DaqCorruptError, match="checksum mismatch"):
        camera.daq.read_raw(image.name, "R22_S11")


def test_the_pool_renders_ahead_in_processes_niced_below_the_services(tmp_path: Path) -> None:
    config = camera_config(tmp_path)
    cache = render_cache(config)
    pool = RenderPool(config, cache, workers=1)
    try:
        assert pool.ahead([4], DETECTORS) == 4
        assert pool.ahead([4], DETECTORS) == 0, "queued once"
        pool.wait_all()
        workers = [child.pid for child in multiprocessing.active_children() if child.pid]
        assert workers
        assert all(os.getpriority(os.PRIO_PROCESS, pid) >= RENDER_NICENESS for pid in workers)
    finally:
        pool.close()
    assert len(cache_files(config)) == 4


def test_the_camera_renders_a_requested_visit_and_the_next_ahead(tmp_path: Path) -> None:
    config = camera_config(tmp_path, render_workers=1, render_ahead=1)
    camera = Camera(config, DaqStore(tmp_path / "daq"))
    try:
        request = ImageRequest(2, 15.0, "OBJECT", "g", 6, tuple(DETECTORS), {})
        assert camera.render_ahead(request) == 8, "visits 6 and 7, two snaps, two CCDs"
        image = camera.new_image(request, 1, 1.9e9, None)
        camera.read_out(image)
        assert camera.daq.read_raw(image.name, "R22_S11").metadata["VISIT"] == 6
    finally:
        camera.close()


def test_the_cache_keeps_to_its_size_dropping_the_least_recently_used(tmp_path: Path) -> None:
    config = camera_config(tmp_path)
    prerender(config, [1], workers=0)
    entry_bytes = max(path.stat().st_size for path in cache_files(config))
    small = camera_config(tmp_path, render_cache_gb=3.5 * entry_bytes / 1e9)
    prerender(small, [2], workers=0)
    kept = cache_files(small)
    assert len(kept) == 3
    assert prerender(small, [2], workers=0).rendered <= 1, "the newest are kept"
