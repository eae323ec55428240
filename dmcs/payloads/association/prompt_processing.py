"""Prompt processing of one CCD of one visit: raw snaps to calibrated exposure and DIASources.

Stages, in order: raws (the camera readout: simulated, or read from the DAQ store or the
render cache), isr, snap_combine, characterize, template, differencing, dia_detection.
Calibrations come from master products in ``calib_dir`` when one is configured (or those
certified in the Butler repository ``calib_butler``), otherwise from the simulator's own
noise-free instrument signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from dmcs.payloads.association.cutout_fits import cutout_side, cutouts_fits
from dmcs.payloads.calibration.calibration import calibrations_from_products
from dmcs.payloads.calibration.certified import certified_calibrations, missing_masters
from dmcs.payloads.camera.camera import CameraSimulator, footprint_region
from dmcs.payloads.camera.exposure import Exposure, bundle_to_exposure
from dmcs.payloads.camera.focal_plane import Detector
from dmcs.payloads.camera.snaps import combine_snaps
from dmcs.payloads.characterize.characterize import Characterization, ReferenceCatalog, characterize
from dmcs.payloads.config import AlertProductionConfig
from dmcs.payloads.differencing.dia_sources import detect_dia_sources
from dmcs.payloads.differencing.differencing import subtract_images
from dmcs.payloads.differencing.template import TEMPLATE_BORDER, simulate_template
from dmcs.payloads.isr.isr import MasterCalibrations, run_isr
from dmcs.payloads.repository import OutputRepository
from dmcs.payloads.stage_timer import StageTimer
from dmcs.payloads.storage import find_dataset, read_bundle

REFERENCE_FAINT_MAG = 22.0
REFERENCE_MARGIN_ARCSEC = 30.0
CALIBRATION_KINDS = ("bias", "dark", "flat")


@dataclass
class CcdProducts:
    calexp: Exposure
    characterization: Characterization
    template: Exposure
    difference: Exposure
    dia_sources: np.ndarray
    #: FITS cutouts per kind (``cutout_science``, ``_template``, ``_difference``), per source.
    cutouts: dict[str, list[bytes]]


class PromptProcessor:
    """Runs the per-CCD stages with calibrations cached per detector."""

    def __init__(self, config: AlertProductionConfig, simulator: CameraSimulator) -> None:
        self.config = config
        self.simulator = simulator
        self.calibrations = lru_cache(maxsize=4)(self._load_calibrations)

    def missing_calibrations(self, detectors: list[str]) -> list[Path | str]:
        if self.config.calib_butler is not None:
            return list(missing_masters(self.config.calib_butler, detectors))
        if self.config.calib_dir is None:
            return []
        repository = OutputRepository(self.config.calib_dir)
        return [
            repository.calibration(kind, detector)
            for detector in detectors
            for kind in CALIBRATION_KINDS
            if find_dataset(repository.calibration(kind, detector)) is None
        ]

    def _load_calibrations(self, detector: Detector) -> MasterCalibrations:
        if self.config.calib_butler is not None:
            return certified_calibrations(self.config.calib_butler, detector.name)
        if self.config.calib_dir is None:
            signature = self.simulator.signature(detector.index)
            return MasterCalibrations(
                signature.bias_structure_e,
                signature.dark_current_e_per_s,
                signature.flat,
                signature.bad_pixels,
            )
        repository = OutputRepository(self.config.calib_dir)
        products = []
        for kind in CALIBRATION_KINDS:
            path = find_dataset(repository.calibration(kind, detector.name))
            if path is None:
                raise FileNotFoundError(
                    f"master {kind} for {detector.name} missing under {repository.root}"
                )
            products.append(bundle_to_exposure(read_bundle(path)))
        return calibrations_from_products(*products)

    def reference_catalog(self, exposure: Exposure) -> ReferenceCatalog:
        assert exposure.wcs is not None
        region = footprint_region(
            exposure.wcs, self.simulator.model.detector_size, REFERENCE_MARGIN_ARCSEC
        )
        stars = self.simulator.sky.stars(region)
        bright = stars.mean_mag <= REFERENCE_FAINT_MAG
        return ReferenceCatalog(stars.ra[bright], stars.dec[bright], stars.mean_mag[bright])

    def template(self, visit: int, detector: Detector) -> Exposure:
        """The template for one CCD of one visit (a service may preload it before readout)."""
        return simulate_template(
            self.simulator,
            visit,
            detector,
            self.config.template_seeing_arcsec,
            self.config.template_depth_visits,
        )

    def process(self, visit: int, detector: Detector, timer: StageTimer) -> CcdProducts:
        model = self.simulator.model
        gains = self.simulator.signature(detector.index).gains
        with timer.stage("raws"):
            raws = [
                self.simulator.science_snap(visit, detector, snap)
                for snap in range(model.snaps_per_visit)
            ]
        with timer.stage("isr"):
            calibrations = self.calibrations(detector)
            snaps = [run_isr(raw, model, gains, calibrations) for raw in raws]
        with timer.stage("snap_combine"):
            exposure = combine_snaps(snaps)
        with timer.stage("characterize"):
            result = characterize(
                exposure,
                self.reference_catalog(exposure),
                self.config.detection_threshold,
                self.config.background_cell,
            )
        with timer.stage("template"):
            template = self.template(visit, detector)
        with timer.stage("differencing"):
            difference, _ = subtract_images(
                result.exposure,
                template,
                result.sources,
                result.psf_sigma,
                float(template.metadata["PSFSIGMA"]),
                self.config.kernel_spatial_order,
            )
        with timer.stage("dia_detection"):
            dia_sources = detect_dia_sources(
                difference, result.psf_sigma, self.config.detection_threshold, visit, detector.index
            )
            sides = np.array([cutout_side(b) for b in dia_sources["bboxSize"]], dtype=np.int64)
            x, y = dia_sources["x"], dia_sources["y"]
            stamps = {
                "cutout_science": cutouts_fits(result.exposure, x, y, sides),
                "cutout_template": cutouts_fits(template, x, y, sides, TEMPLATE_BORDER),
                "cutout_difference": cutouts_fits(difference, x, y, sides),
            }
        return CcdProducts(result.exposure, result, template, difference, dia_sources, stamps)
