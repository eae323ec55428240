"""Pipeline configuration: pydantic models with defaults that run a small job in seconds."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError, field_validator

from dmcs.payloads.camera.camera import CameraModel, CameraSimulator
from dmcs.payloads.camera.focal_plane import FocalPlane
from dmcs.payloads.camera.sky import SkyParameters, SyntheticSky
from dmcs.validation import StrictModel, describe_problems

DEFAULT_DETECTORS = ["R22_S11", "R22_S12", "R22_S21", "R22_S22"]
ALL_DETECTORS = "all"


class SimulationConfig(StrictModel):
    """What is simulated and where outputs go; shared by every payload."""

    seed: int = Field(1, ge=0)
    detector_size: int = 512
    detectors: list[str] = Field(default_factory=lambda: list(DEFAULT_DETECTORS))
    output_format: Literal["fits", "hdf5"] = "fits"
    star_density_per_arcmin2: float = Field(100.0, gt=0)
    transient_density_per_arcmin2: float = Field(3.0, ge=0)

    @field_validator("detector_size")
    @classmethod
    def _size_fits_amplifiers(cls, size: int) -> int:
        if size % 16 or not 128 <= size <= 8192:
            raise ValueError(
                "must be a multiple of 16 between 128 and 8192 (16 amplifiers per CCD)"
            )
        return size

    @field_validator("detectors")
    @classmethod
    def _known_detectors(cls, names: list[str]) -> list[str]:
        focal_plane = FocalPlane(128)
        if names == [ALL_DETECTORS]:
            return focal_plane.names
        if not names:
            raise ValueError("must name at least one detector")
        for name in names:
            focal_plane.detector(name)
        return names

    def simulator(self) -> CameraSimulator:
        sky = SyntheticSky(
            SkyParameters(
                seed=self.seed,
                star_density_per_arcmin2=self.star_density_per_arcmin2,
                transient_density_per_arcmin2=self.transient_density_per_arcmin2,
            )
        )
        return CameraSimulator(CameraModel(detector_size=self.detector_size), sky, self.seed)


class CalibrationConfig(SimulationConfig):
    """Master calibration payloads: how many raw frames to combine and their exposure time."""

    n_exposures: int = Field(5, ge=3, le=100)
    exptime: float = Field(60.0, gt=0)
    clip_sigma: float = Field(3.0, gt=1)
    calib_dir: Path | None = None
    #: A Butler repository to certify the masters in (LSSTCam/calib); none: files only.
    butler_repo: Path | None = None


class AlertProductionConfig(SimulationConfig):
    """Prompt processing of visits into DIASources, the APDB and alert packets."""

    calib_dir: Path | None = None
    #: Read the masters certified in this Butler repository (instead of calib_dir's files).
    calib_butler: Path | None = None
    #: Resolve data queries against the raws ingested in this Butler repository, and publish
    #: the products there (calexp, diffim, src, diasrc in the night's RUN).
    butler_repo: Path | None = None
    apdb_url: str | None = None
    #: Raw snaps are taken from (and rendered into) this cache instead of simulated each run.
    render_cache: Path | None = None
    detection_threshold: float = Field(5.0, gt=0)
    background_cell: int = Field(128, ge=16)
    association_radius_arcsec: float = Field(1.0, gt=0)
    history_length: int = Field(10, ge=0)
    template_seeing_arcsec: float = Field(0.6, gt=0)
    template_depth_visits: int = Field(10, ge=1)
    kernel_spatial_order: int = Field(1, ge=0, le=2)
    dataset_formats: dict[Literal["calexp", "diffim", "src", "diasrc"], Literal["fits", "hdf5"]] = (
        Field(default_factory=dict)
    )

    def format_of(self, dataset: str) -> Literal["fits", "hdf5"]:
        return self.dataset_formats.get(dataset, self.output_format)  # type: ignore[call-overload]


ConfigT = TypeVar("ConfigT", bound=BaseModel)


def validate_config(model: type[ConfigT], config: dict[str, Any], pipeline: str) -> ConfigT:
    """The validated config, or a ValueError naming each bad field."""
    try:
        return model.model_validate(config)
    except ValidationError as error:
        raise ValueError(f"invalid {pipeline} config: {describe_problems(error)}") from None
