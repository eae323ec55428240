"""Camera simulator: focal-plane layout, raw format, reproducibility however work is split."""

from __future__ import annotations

import numpy as np
import pytest

from dmcs.payloads.camera.camera import (
    AMP_COLUMNS,
    AMP_ROWS,
    CameraModel,
    CameraSimulator,
    footprint_region,
)
from dmcs.payloads.camera.focal_plane import FocalPlane
from dmcs.payloads.camera.sky import SkyParameters, SkyRegion, SyntheticSky


def make_simulator(size: int = 256, seed: int = 7) -> CameraSimulator:
    return CameraSimulator(
        CameraModel(detector_size=size), SyntheticSky(SkyParameters(seed=seed)), seed
    )


def test_focal_plane_has_189_science_ccds_named_like_the_camera() -> None:
    focal_plane = FocalPlane(512)
    names = focal_plane.names
    assert len(names) == 189
    assert len({name.split("_")[0] for name in names}) == 21
    assert "R22_S11" in names and "R00_S00" not in names and "R44_S22" not in names
    with pytest.raises(ValueError, match="unknown detector 'R00_S11'"):
        focal_plane.detector("R00_S11")


def test_detectors_tile_the_sky_without_overlap() -> None:
    simulator = make_simulator()
    pointing = simulator.conditions(1).pointing
    focal_plane = simulator.focal_plane
    centre = focal_plane.wcs(focal_plane.detector("R22_S11"), pointing)
    ra, dec = centre.all_pix2world(127.5, 127.5, 0)
    assert np.hypot((ra - pointing.ra) * np.cos(np.deg2rad(dec)), dec - pointing.dec) * 3600 < 0.01
    neighbour = focal_plane.wcs(focal_plane.detector("R22_S12"), pointing)
    x, _ = neighbour.all_world2pix(*centre.all_pix2world([255.0], [128.0], 0), 0)
    assert x[0] < 0, "the right edge of R22_S11 must fall left of R22_S12's first column"


def test_raw_exposure_has_16_amplifiers_with_overscan_at_the_bias_level() -> None:
    simulator = make_simulator()
    raw = simulator.science_snap(1, simulator.focal_plane.detector("R22_S11"), 0)
    model = simulator.model
    assert len(raw.amps) == AMP_ROWS * AMP_COLUMNS
    assert all(
        a.shape == (model.amp_height, model.amp_width + model.overscan_columns) for a in raw.amps
    )
    assert all(a.dtype == np.int32 for a in raw.amps)
    overscan_levels = [np.median(a[:, model.amp_width :]) for a in raw.amps]
    assert len(set(np.round(overscan_levels))) == 16, "each amplifier has its own bias level"
    assert all(
        abs(level - model.bias_level_adu - 100 * amp) < 5
        for amp, level in enumerate(overscan_levels)
    )


def test_same_visit_detector_snap_gives_identical_pixels_whatever_ran_before() -> None:
    first, second = make_simulator(), make_simulator()
    detector = first.focal_plane.detector("R22_S21")
    second.science_snap(3, second.focal_plane.detector("R01_S00"), 1)
    a = first.science_snap(2, detector, 1)
    b = second.science_snap(2, detector, 1)
    assert all(np.array_equal(x, y) for x, y in zip(a.amps, b.amps, strict=True))
    other_snap = first.science_snap(2, detector, 0)
    assert not np.array_equal(a.cosmic_rays_e, other_snap.cosmic_rays_e), (
        "cosmic rays differ per snap"
    )


def test_sky_is_the_same_whether_asked_for_whole_or_in_pieces() -> None:
    sky = SyntheticSky(SkyParameters(seed=3))
    whole = sky.stars(SkyRegion(150.0, 150.2, 2.0, 2.1))
    left = sky.stars(SkyRegion(150.0, 150.1, 2.0, 2.1))
    right = sky.stars(SkyRegion(150.1 + 1e-12, 150.2, 2.0, 2.1))
    assert len(whole.id) > 100
    assert sorted(whole.id) == sorted(np.concatenate([left.id, right.id]))


def test_transients_appear_between_visits_and_fade() -> None:
    simulator = make_simulator(512)
    detector = simulator.focal_plane.detector("R22_S11")
    region = footprint_region(simulator.scene(1, detector).wcs, 512, 0)
    first = simulator.sky.transients(region, 1)
    second = simulator.sky.transients(region, 2)
    carried = np.isin(second.id, first.id)
    assert carried.any() and (~carried).any(), "visit 2 keeps visit-1 transients and gains new ones"
    first_mag = dict(zip(first.id.tolist(), first.mag, strict=True))
    fading = [
        mag - first_mag[i]
        for i, mag in zip(second.id[carried].tolist(), second.mag[carried], strict=True)
    ]
    assert np.allclose(fading, SkyParameters().transient_fade_mag_per_visit)
