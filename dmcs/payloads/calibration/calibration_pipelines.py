"""The calib-bias, calib-dark and calib-flat payloads: one master product per detector.

Each work item simulates ``n_exposures`` raw calibration frames of one detector, combines
them and writes the master with its inputs recorded as provenance. Masters live in the
calibration repository ``calib_dir`` (default: this job's output directory), where darks find
their master bias and flats their bias and dark, so separate jobs can build the chain. With
``butler_repo``, ``finalize`` (rank 0, once per job) also ingests the job's masters where they
are and certifies them in the Butler's ``LSSTCam/calib`` from now on, in a RUN named after
the pipeline and job (``LSSTCam/calib/calib-bias/<job id>``), for prompt processing to find.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from dmcs.butler.calibrations import MasterFile, certify_masters
from dmcs.butler.collections import CALIBRATION
from dmcs.butler.repository import open_repository
from dmcs.payloads.calibration.calibration import (
    master_bias,
    master_dark,
    master_flat,
    provenance_table,
)
from dmcs.payloads.camera.camera import CameraSimulator, RawExposure
from dmcs.payloads.camera.exposure import Exposure, bundle_to_exposure, exposure_to_bundle
from dmcs.payloads.config import CalibrationConfig, validate_config
from dmcs.payloads.data_query import detector_item, parse_data_query, select_detectors
from dmcs.payloads.repository import OutputRepository
from dmcs.payloads.storage import find_dataset, read_bundle, write_bundle
from dmcs.sal.tai import current_tai


def load_master(repository: OutputRepository, kind: str, detector: str) -> Exposure:
    path = find_dataset(repository.calibration(kind, detector))
    if path is None:
        raise FileNotFoundError(
            f"master {kind} for {detector} not found under {repository.root / 'calib' / kind}; "
            f"run calib-{kind} first"
        )
    return bundle_to_exposure(read_bundle(path))


class CalibrationPipeline(ABC):
    """Shared plan/run/finalize logic; subclasses say which frames and how to combine."""

    name: str
    summary: str
    data_query_help = "detector=R22_S11,R22_S12 (no visits); empty: every configured detector"
    kind: ClassVar[str]
    prerequisites: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: dict[str, Any], output_dir: Path) -> None:
        self.config = validate_config(CalibrationConfig, config, self.name)
        self.calibs = OutputRepository(self.config.calib_dir or output_dir)
        #: The job's id when run by the job manager (its outputs are <jobs>/<id>/outputs).
        self.job_label = Path(output_dir).resolve().parent.name
        self.simulator: CameraSimulator | None = None

    def plan(self, data_query: str) -> list[str]:
        query = parse_data_query(data_query)
        if query.visits is not None:
            raise ValueError(
                f"{self.name} works per detector; data query {data_query!r} must not name visits"
            )
        detectors = select_detectors(query, self.config.detectors, data_query)
        return [detector_item(d) for d in detectors]

    def setup(self) -> None:
        self.simulator = self.config.simulator()
        for kind in self.prerequisites:
            for detector in self.config.detectors:
                if find_dataset(self.calibs.calibration(kind, detector)) is None:
                    raise FileNotFoundError(
                        f"{self.name} needs master {kind} for {detector} in {self.calibs.root}; "
                        f"run calib-{kind} first"
                    )

    def run_item(self, item: str) -> dict[str, Any]:
        if self.simulator is None:
            self.setup()
        assert self.simulator is not None
        query = parse_data_query(item)
        if query.detectors is None or len(query.detectors) != 1 or query.visits is not None:
            raise ValueError(f"bad work item {item!r}: expected 'detector=<name>'")
        detector = self.simulator.focal_plane.detector(query.detectors[0])
        exptime = 0.0 if self.kind == "bias" else self.config.exptime
        raws = [
            self.simulator.calibration_exposure(self.kind, exposure, detector, exptime)
            for exposure in range(self.config.n_exposures)
        ]
        gains = self.simulator.signature(detector.index).gains
        product = self.combine(raws, gains, detector.name)
        inputs = [
            f"{self.kind} exposure {r.metadata['EXPID']} detector {detector.name}" for r in raws
        ]
        inputs += [
            str(find_dataset(self.calibs.calibration(k, detector.name))) for k in self.prerequisites
        ]
        bundle = exposure_to_bundle(product, {"provenance": provenance_table(inputs)})
        path = write_bundle(
            self.calibs.calibration(self.kind, detector.name), bundle, self.config.output_format
        )
        return {
            "detector": detector.name,
            "outputs": [str(path)],
            "n_inputs": len(raws),
            "median": float(np.median(product.image)),
            "n_defects": int((product.mask != 0).sum()),
        }

    @abstractmethod
    def combine(self, raws: list[RawExposure], gains: np.ndarray, detector: str) -> Exposure:
        """The master product from this detector's raw frames."""

    def finalize(self, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
        ordered = [results[item] for item in sorted(results)]
        summary: dict[str, Any] = {
            "pipeline": self.name,
            "n_products": len(ordered),
            "outputs": [path for result in ordered for path in result["outputs"]],
            "medians": {result["detector"]: result["median"] for result in ordered},
        }
        if self.config.butler_repo is not None:
            masters = [MasterFile(self.kind, result["detector"], Path(path))
                       for result in ordered for path in result["outputs"]]
            refs = certify_masters(open_repository(self.config.butler_repo), masters,
                                   f"{self.name}/{self.job_label}", current_tai())
            summary["certified"] = {"collection": CALIBRATION, "run": refs[0].run,
                                    "datasets": len(refs)}
        return summary


class BiasPipeline(CalibrationPipeline):
    name = "calib-bias"
    summary = "a master bias per detector, combined from simulated bias frames"
    kind = "bias"

    def combine(self, raws: list[RawExposure], gains: np.ndarray, detector: str) -> Exposure:
        assert self.simulator is not None
        return master_bias(raws, self.simulator.model, gains, self.config.clip_sigma)


class DarkPipeline(CalibrationPipeline):
    name = "calib-dark"
    summary = "a master dark per detector (needs the master bias in calib_dir)"
    kind = "dark"
    prerequisites = ("bias",)

    def combine(self, raws: list[RawExposure], gains: np.ndarray, detector: str) -> Exposure:
        assert self.simulator is not None
        bias = load_master(self.calibs, "bias", detector).image
        return master_dark(raws, self.simulator.model, gains, bias, self.config.clip_sigma)


class FlatPipeline(CalibrationPipeline):
    name = "calib-flat"
    summary = "a master flat per detector (needs the master bias and dark in calib_dir)"
    kind = "flat"
    prerequisites = ("bias", "dark")

    def combine(self, raws: list[RawExposure], gains: np.ndarray, detector: str) -> Exposure:
        assert self.simulator is not None
        bias = load_master(self.calibs, "bias", detector).image
        dark = load_master(self.calibs, "dark", detector).image
        return master_flat(raws, self.simulator.model, gains, bias, dark, self.config.clip_sigma)
