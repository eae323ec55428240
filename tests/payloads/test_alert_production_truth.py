"""Alert production against injected truth: characterization, differencing, DIASources."""

from __future__ import annotations

import numpy as np
import pytest

from dmcs.payloads.camera.exposure import Exposure
from dmcs.payloads.characterize.psf import render_point_sources
from dmcs.payloads.differencing.differencing import subtract_images
from tests.payloads.conftest import PayloadRun

MAX_FALSE_DIASOURCES_PER_CCD = 6


def every_result(*runs: PayloadRun) -> list[dict]:
    return [result for run in runs for result in run.results.values()]


def test_zero_point_within_0_02_mag_on_every_ccd(
    alert_run: PayloadRun, default_alert_run: PayloadRun
) -> None:
    errors = [
        r["truth"]["zero_point_error_mag"] for r in every_result(alert_run, default_alert_run)
    ]
    assert len(errors) == 18
    assert max(abs(e) for e in errors) < 0.02, errors


def test_fitted_wcs_within_0_1_arcsec_of_truth_on_every_ccd(
    alert_run: PayloadRun, default_alert_run: PayloadRun
) -> None:
    errors = [
        r["truth"]["astrometric_error_arcsec"] for r in every_result(alert_run, default_alert_run)
    ]
    assert max(errors) < 0.1, errors
    assert all(r["n_astrometric_matches"] >= 10 for r in every_result(alert_run))


def test_completeness_above_10_sigma_is_at_least_95_percent(
    alert_run: PayloadRun, default_alert_run: PayloadRun
) -> None:
    results = every_result(alert_run, default_alert_run)
    injected = sum(r["truth"]["n_injected_above_10sigma"] for r in results)
    recovered = sum(r["truth"]["n_recovered_above_10sigma"] for r in results)
    assert injected > 150, "enough injected changes for a meaningful completeness"
    assert recovered / injected >= 0.95, (recovered, injected)
    assert default_alert_run.summary["completeness_above_10sigma"] >= 0.95


def test_false_diasources_per_ccd_are_bounded_and_reported(
    alert_run: PayloadRun, default_alert_run: PayloadRun
) -> None:
    false_counts = list(default_alert_run.summary["false_diasources_per_ccd"].values())
    false_counts += list(alert_run.summary["false_diasources_per_ccd"].values())
    assert len(false_counts) == 18
    assert max(false_counts) <= 2 * MAX_FALSE_DIASOURCES_PER_CCD, false_counts
    assert np.mean(false_counts) <= MAX_FALSE_DIASOURCES_PER_CCD / 2, false_counts


def test_psf_width_is_the_visit_seeing(default_alert_run: PayloadRun) -> None:
    simulator = default_alert_run.pipeline.simulator
    for result in default_alert_run.results.values():
        seeing = simulator.conditions(result["visit"]).seeing_fwhm_arcsec
        assert result["psf_fwhm_arcsec"] == pytest.approx(seeing, rel=0.03)


def test_negative_diasources_come_from_stars_fainter_than_in_the_template(
    default_alert_run: PayloadRun,
) -> None:
    negatives = sum(r["n_diasources_negative"] for r in default_alert_run.results.values())
    positives = sum(
        r["n_diasources"] - r["n_diasources_negative"] for r in default_alert_run.results.values()
    )
    assert negatives > 0 and positives > negatives


def test_alard_lupton_recovers_a_known_kernel_and_flux_scaling() -> None:
    """Science = template convolved with a Gaussian, scaled by 1.03, plus an offset and noise."""
    rng = np.random.default_rng(5)
    size, template_sigma, science_sigma, scale, offset = 384, 1.3, 2.4, 1.03, 7.0
    x, y = rng.uniform(20, size - 20, 80), rng.uniform(20, size - 20, 80)
    flux = 10 ** rng.uniform(4, 5.5, 80)
    border = 32
    template_image = render_point_sources(
        (size + 2 * border,) * 2, x + border, y + border, flux, template_sigma
    )
    science_image = render_point_sources((size, size), x, y, flux * scale, science_sigma) + offset
    science_image += rng.normal(0, 20, science_image.shape)
    template = Exposure(
        template_image.astype(np.float32),
        np.zeros(template_image.shape, np.int32),
        np.full(template_image.shape, 1.0, np.float32),
        None,
        {"BORDER": border},
    )
    science = Exposure(
        science_image.astype(np.float32),
        np.zeros((size, size), np.int32),
        np.full((size, size), 400.0, np.float32),
        None,
        {},
    )
    sources = np.zeros(
        80, dtype=[("x", "f8"), ("y", "f8"), ("flags", "i4"), ("snr", "f8"), ("refmatch", "i2")]
    )
    sources["x"], sources["y"], sources["snr"], sources["refmatch"] = x, y, flux / 100, 1
    difference, solution = subtract_images(
        science, template, sources, science_sigma, template_sigma, 1
    )
    kernel = solution.kernel_at(size / 2, size / 2)
    assert kernel.sum() == pytest.approx(scale, rel=0.005)
    matching = np.sqrt(science_sigma**2 - template_sigma**2)
    u = np.arange(kernel.shape[0]) - kernel.shape[0] // 2
    width = np.sqrt((kernel.sum(axis=0) * u**2).sum() / kernel.sum())
    assert width == pytest.approx(matching, rel=0.05)
    assert np.std(difference.image) == pytest.approx(20, rel=0.1), "only noise is left"
