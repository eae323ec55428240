"""ISR, snap combination and master calibrations, checked against the simulated signature."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dmcs.payloads.calibration.calibration_pipelines import load_master
from dmcs.payloads.camera.camera import CameraModel, CameraSimulator
from dmcs.payloads.camera.exposure import MaskBit
from dmcs.payloads.camera.sky import SkyParameters, SyntheticSky
from dmcs.payloads.camera.snaps import combine_snaps
from dmcs.payloads.isr.isr import MasterCalibrations, run_isr
from dmcs.payloads.pipelines import PIPELINES
from dmcs.payloads.repository import OutputRepository
from tests.payloads.conftest import CALIB_DETECTORS, PayloadRun

SEED = 1


@pytest.fixture(scope="module")
def simulator() -> CameraSimulator:
    return CameraSimulator(
        CameraModel(detector_size=512), SyntheticSky(SkyParameters(seed=SEED)), SEED
    )


def ideal_calibrations(simulator: CameraSimulator, index: int) -> MasterCalibrations:
    signature = simulator.signature(index)
    return MasterCalibrations(
        signature.bias_structure_e,
        signature.dark_current_e_per_s,
        signature.flat,
        signature.bad_pixels,
    )


def test_isr_recovers_sky_level_and_honest_variance(simulator: CameraSimulator) -> None:
    detector = simulator.focal_plane.detector("R22_S11")
    gains = simulator.signature(detector.index).gains
    calibrations = ideal_calibrations(simulator, detector.index)
    first, second = (
        run_isr(simulator.science_snap(1, detector, snap), simulator.model, gains, calibrations)
        for snap in (0, 1)
    )
    expected_sky = simulator.conditions(1).sky_e_per_pixel_per_s * simulator.model.snap_exptime
    clean = (first.mask == 0) & (second.mask == 0)
    assert first.image.shape == (512, 512)
    assert np.median(first.image[clean]) == pytest.approx(expected_sky, rel=0.03)
    snap_difference = (first.image - second.image)[clean]
    measured_noise = 1.4826 * np.median(np.abs(snap_difference)) / np.sqrt(2)
    predicted_noise = np.sqrt(np.median(first.variance[clean]))
    assert measured_noise == pytest.approx(predicted_noise, rel=0.05)


def test_isr_flags_dead_columns_and_saturated_stars() -> None:
    bright_sky = SyntheticSky(SkyParameters(seed=SEED, bright_mag=12.0))
    simulator = CameraSimulator(CameraModel(detector_size=512), bright_sky, SEED)
    detector = simulator.focal_plane.detector("R22_S11")
    calibrations = ideal_calibrations(simulator, detector.index)
    gains = simulator.signature(detector.index).gains
    exposure = run_isr(simulator.science_snap(1, detector, 0), simulator.model, gains, calibrations)
    bad = (exposure.mask & MaskBit.BAD) != 0
    assert np.array_equal(bad, calibrations.defects)
    scene = simulator.scene(1, detector)
    on_chip = (scene.star_x > 5) & (scene.star_x < 506) & (scene.star_y > 5) & (scene.star_y < 506)
    brightest = np.flatnonzero(on_chip)[np.argmin(scene.star_mag[on_chip])]
    x, y = round(scene.star_x[brightest]), round(scene.star_y[brightest])
    peak = scene.flux_e_per_s(scene.star_mag[brightest]) * simulator.model.snap_exptime
    peak /= 2 * np.pi * scene.conditions.psf_sigma_pixels**2
    assert peak > simulator.model.full_well_e, "the test field must contain a saturating star"
    assert exposure.mask[y, x] & MaskBit.SAT
    assert not (exposure.mask[y + 30 :, :] & MaskBit.SAT).all()


def test_snap_combination_removes_cosmic_rays_but_keeps_stars(simulator: CameraSimulator) -> None:
    detector = simulator.focal_plane.detector("R22_S12")
    gains = simulator.signature(detector.index).gains
    calibrations = ideal_calibrations(simulator, detector.index)
    raws = [simulator.science_snap(2, detector, snap) for snap in (0, 1)]
    combined = combine_snaps([run_isr(raw, simulator.model, gains, calibrations) for raw in raws])
    flagged = (combined.mask & MaskBit.CR) != 0
    hits = (
        sum((raw.cosmic_rays_e > 1000).astype(int) for raw in raws if raw.cosmic_rays_e is not None)
        > 0
    )
    assert hits.sum() > 50
    assert (flagged & hits).sum() / hits.sum() >= 0.95
    scene = simulator.scene(2, detector)
    star_cores = np.zeros_like(flagged)
    on_chip = (scene.star_x > 0) & (scene.star_x < 511) & (scene.star_y > 0) & (scene.star_y < 511)
    star_cores[
        np.rint(scene.star_y[on_chip]).astype(int), np.rint(scene.star_x[on_chip]).astype(int)
    ] = True
    assert (flagged & star_cores & ~hits).sum() <= 0.01 * star_cores.sum(), (
        "stars are not cosmic rays"
    )
    noise = np.sqrt(combined.variance)
    assert np.median(np.abs(combined.image - combined.image.mean())[hits] / noise[hits]) < 10


@pytest.mark.parametrize("detector", CALIB_DETECTORS)
def test_master_calibrations_recover_the_simulated_signature(
    calibration_runs: dict[str, PayloadRun], simulator: CameraSimulator, detector: str
) -> None:
    repository = OutputRepository(calibration_runs["bias"].output_dir)
    signature = simulator.signature(simulator.focal_plane.detector(detector).index)
    bias, dark, flat = (
        load_master(repository, kind, detector) for kind in ("bias", "dark", "flat")
    )
    exptime = float(PIPELINES["calib-dark"]({}, repository.root).config.exptime)
    bias_noise = np.sqrt(np.median(bias.variance))
    dark_noise = np.hypot(np.sqrt(np.median(dark.variance)), bias_noise / exptime)
    for product, truth, noise in (
        (bias, signature.bias_structure_e, bias_noise),
        (dark, signature.dark_current_e_per_s, dark_noise),
    ):
        residual = product.image - truth
        assert abs(np.mean(residual)) < 0.1 * noise
        assert np.std(residual) < 1.25 * noise
    good = ~signature.bad_pixels
    assert np.std((flat.image - signature.flat)[good]) < 1.5 * np.sqrt(np.median(flat.variance))
    hot = signature.dark_current_e_per_s > 5
    assert np.array_equal((dark.mask & MaskBit.BAD) != 0, hot)
    assert np.array_equal((flat.mask & MaskBit.BAD) != 0, signature.bad_pixels)


def test_calibration_products_record_their_inputs(calibration_runs: dict[str, PayloadRun]) -> None:
    from dmcs.payloads.storage import read_bundle

    flat_path = Path(calibration_runs["flat"].results["detector=R22_S11"]["outputs"][0])
    provenance = [row.decode() for row in read_bundle(flat_path).arrays["provenance"]["input"]]
    assert provenance[:5] == [f"flat exposure {k} detector R22_S11" for k in range(5)]
    assert provenance[5].endswith("calib/bias/R22_S11.fits") and provenance[6].endswith(
        "calib/dark/R22_S11.fits"
    )


def test_dark_without_master_bias_says_what_to_run(tmp_path: Path) -> None:
    pipeline = PIPELINES["calib-dark"]({"detectors": ["R22_S11"]}, tmp_path)
    with pytest.raises(FileNotFoundError, match="run calib-bias first"):
        pipeline.setup()


def test_separate_jobs_build_the_chain_in_a_shared_calibration_repository(tmp_path: Path) -> None:
    config = {
        "detectors": ["R22_S11"],
        "detector_size": 128,
        "n_exposures": 3,
        "calib_dir": str(tmp_path / "calib"),
    }
    for kind in ("bias", "dark", "flat"):
        pipeline = PIPELINES[f"calib-{kind}"](config, tmp_path / f"job_{kind}")
        pipeline.setup()
        (output,) = pipeline.run_item("detector=R22_S11")["outputs"]
        assert Path(output) == tmp_path / "calib" / "calib" / kind / "R22_S11.fits"
