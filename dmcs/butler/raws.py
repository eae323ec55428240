"""Raws into the Butler: one exposure's records and files in one ``ingest()``, exactly once.

Per exposure, in one transaction: its ``day_obs``, ``group`` and ``exposure`` records (and, for
a science image, its ``visit`` with the snaps taken so far), then one ``ingest()`` of its CCD
files in place (transfer ``direct``: the file the archiver wrote is the artifact). One call per
exposure, not per CCD: a call costs ~19 ms on SQLite and ~40 ms on PostgreSQL whatever it
holds. Dataset ids are deterministic (dataset type + data ID + run), and existing datasets are
skipped, so a restart, a catch-up or two archivers racing register each CCD once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import astropy.time
from lsst.daf.butler import Butler, DataCoordinate, DatasetRef, FileDataset, Timespan
from lsst.daf.butler.registry import ConflictingDefinitionError

from dmcs.butler.collections import RAW_RUN
from dmcs.butler.instrument import (
    INSTRUMENT,
    OBSERVATION_TYPES,
    VISIT_SYSTEM,
    detector_id,
    exposure_id,
    science_detectors,
)
from dmcs.butler.raw_format import RawFitsFormatter
from dmcs.butler.refs import deterministic_ref
from dmcs.butler.repository import RAW
from dmcs.butler.times import timespan

#: The day of observation rolls over 12 h after UTC midnight (the camera's dayobs rule).
DAYOBS_OFFSET_S = 12 * 3600.0
ONE_DAY = astropy.time.TimeDelta(1.0, format="jd")


@dataclass(frozen=True)
class VisitSpan:
    """A science visit as far as it has been taken: its snaps' first sequence number, the
    time from the first snap's start to the last one's end, and their summed exposure time."""

    id: int
    first_seqnum: int
    begin_tai: float
    end_tai: float
    exposure_time: float


@dataclass(frozen=True)
class ExposureInfo:
    """What the Butler records of one exposure: the camera's image and its header's cards.

    Times are TAI unix seconds; ``image_type`` is the camera's (OBJECT, BIAS, DARK, FLAT).
    """

    obs_id: str
    dayobs: str
    seqnum: int
    image_type: str
    group: str
    exposure_time: float
    dark_time: float
    begin_tai: float
    end_tai: float
    physical_filter: str
    tracking_ra: float | None = None
    tracking_dec: float | None = None
    sky_angle: float | None = None
    science_program: str = ""
    visit: VisitSpan | None = None

    @property
    def id(self) -> int:
        return exposure_id(self.dayobs, self.seqnum)

    @property
    def observation_type(self) -> str:
        return OBSERVATION_TYPES.get(self.image_type.upper(), self.image_type.lower())


@dataclass(frozen=True)
class RawFile:
    """One CCD file the archiver wrote."""

    detector: str
    path: Path


def _day_obs_record(exposure: ExposureInfo) -> dict[str, Any]:
    day = astropy.time.Time(
        f"{exposure.dayobs[:4]}-{exposure.dayobs[4:6]}-{exposure.dayobs[6:]}", scale="utc")
    begin = day + astropy.time.TimeDelta(DAYOBS_OFFSET_S, format="sec")
    return {"instrument": INSTRUMENT, "id": int(exposure.dayobs),
            "timespan": Timespan(begin.tai, (begin + ONE_DAY).tai)}


def _exposure_record(exposure: ExposureInfo) -> dict[str, Any]:
    science = exposure.observation_type == "science"
    return {
        "instrument": INSTRUMENT, "id": exposure.id, "obs_id": exposure.obs_id,
        "day_obs": int(exposure.dayobs), "group": exposure.group,
        "physical_filter": exposure.physical_filter, "exposure_time": exposure.exposure_time,
        "dark_time": exposure.dark_time, "observation_type": exposure.observation_type,
        "observation_reason": exposure.observation_type, "seq_num": exposure.seqnum,
        "seq_start": exposure.visit.first_seqnum if exposure.visit else exposure.seqnum,
        "seq_end": exposure.seqnum, "target_name": exposure.group,
        "science_program": exposure.science_program, "tracking_ra": exposure.tracking_ra,
        "tracking_dec": exposure.tracking_dec, "sky_angle": exposure.sky_angle,
        "has_simulated": True, "can_see_sky": science,
        "timespan": timespan(exposure.begin_tai, exposure.end_tai),
    }


def _visit_record(exposure: ExposureInfo, visit: VisitSpan) -> dict[str, Any]:
    return {
        "instrument": INSTRUMENT, "id": visit.id, "name": exposure.group,
        "day_obs": int(exposure.dayobs), "physical_filter": exposure.physical_filter,
        "seq_num": visit.first_seqnum, "exposure_time": visit.exposure_time,
        "target_name": exposure.group, "observation_reason": "science",
        "science_program": exposure.science_program,
        "timespan": timespan(visit.begin_tai, visit.end_tai),
    }


def register_exposure(butler: Butler, exposure: ExposureInfo) -> None:
    """The exposure's dimension records (an existing exposure record is left as it is)."""
    registry = butler.registry
    registry.insertDimensionData("day_obs", _day_obs_record(exposure), skip_existing=True)
    registry.insertDimensionData(
        "group", {"instrument": INSTRUMENT, "name": exposure.group}, skip_existing=True)
    registry.insertDimensionData("exposure", _exposure_record(exposure), skip_existing=True)
    if exposure.visit is None:
        return
    visit = exposure.visit
    registry.insertDimensionData("visit", _visit_record(exposure, visit), replace=True)
    registry.insertDimensionData(
        "visit_definition",
        {"instrument": INSTRUMENT, "exposure": exposure.id, "visit": visit.id},
        skip_existing=True)
    registry.insertDimensionData(
        "visit_system_membership",
        {"instrument": INSTRUMENT, "visit_system": VISIT_SYSTEM[0], "visit": visit.id},
        skip_existing=True)


def raw_refs(butler: Butler, exposure: int, detectors: Sequence[str]) -> list[DatasetRef]:
    """The raws' refs, with the ids every archiver computes for them."""
    raw = butler.get_dataset_type(RAW)
    refs = []
    for detector in detectors:
        values: dict[str, int | str] = {"instrument": INSTRUMENT,
                                         "detector": detector_id(detector), "exposure": exposure}
        data_id = DataCoordinate.from_required_values(
            raw.dimensions, tuple(values[name] for name in raw.dimensions.required))
        refs.append(deterministic_ref(raw, data_id, RAW_RUN))
    return refs


def ingest_exposure(butler: Butler, exposure: ExposureInfo, files: Sequence[RawFile]) -> None:
    """Records and one ``ingest()`` for the exposure's files; a CCD already there is skipped.

    A racing archiver's insert between our check and our insert is a conflict: the second
    attempt finds its datasets and skips them.
    """
    refs = raw_refs(butler, exposure.id, [f.detector for f in files])
    datasets = [FileDataset(path=str(f.path.resolve()), refs=[ref], formatter=RawFitsFormatter)
                for f, ref in zip(files, refs, strict=True)]
    for attempt in range(2):
        try:
            with butler.transaction():
                register_exposure(butler, exposure)
                butler.ingest(*datasets, transfer="direct", skip_existing=True)
            return
        except ConflictingDefinitionError:
            if attempt:
                raise


def ingested_detectors(butler: Butler, exposure: int) -> set[str]:
    """Names of the exposure's CCDs whose raw is in the repository."""
    names = {d.id: d.full_name for d in science_detectors()}
    refs = butler.query_datasets(
        RAW, collections=RAW_RUN, where="instrument = instr AND exposure = exposure_id",
        bind={"instr": INSTRUMENT, "exposure_id": exposure}, explain=False, limit=None)
    return {names[int(ref.dataId["detector"])] for ref in refs}


def all_raws(butler: Butler) -> list[DatasetRef]:
    """Every raw in the repository (with its dimension records), by exposure and detector."""
    return butler.query_datasets(RAW, collections=RAW_RUN, explain=False, limit=None,
                                 order_by=["exposure", "detector"], with_dimension_records=True)
