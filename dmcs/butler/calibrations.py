"""Calibration masters in the Butler: ingested where the job wrote them, found by time.

A calibration job's masters (``bias``, ``dark``, ``flat``; dimensions instrument, detector)
go into the RUN ``LSSTCam/calib/<label>`` (the files stay where the job wrote them: transfer
``direct``) and are certified in the CALIBRATION collection ``LSSTCam/calib`` from ``begin``
on, open-ended; a master already certified there for the same kind and detector is
decertified from ``begin``, so at any time exactly one of each is valid. Prompt processing
asks for the masters valid at its visit's time (``load_masters``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lsst.daf.butler import Butler, DataCoordinate, DatasetRef, FileDataset, Timespan

from dmcs.butler.collections import CALIBRATION, calibration_run
from dmcs.butler.exposure_format import ExposureFormatter
from dmcs.butler.instrument import INSTRUMENT, detector_id
from dmcs.butler.refs import deterministic_ref
from dmcs.butler.repository import CALIBRATIONS
from dmcs.butler.times import tai_time
from dmcs.payloads.camera.exposure import Exposure


class MasterMissing(LookupError):
    """No master of a kind is certified for a detector at the time asked."""


@dataclass(frozen=True)
class MasterFile:
    """One master a calibration job wrote: which kind, which detector, where."""

    kind: str
    detector: str
    path: Path


def certify_masters(butler: Butler, masters: Sequence[MasterFile], label: str,
                    begin_tai: float) -> list[DatasetRef]:
    """Ingest the masters into their RUN and make them the valid ones from ``begin_tai``."""
    run = calibration_run(label)
    butler.registry.registerRun(run)
    refs = []
    for master in masters:
        if master.kind not in CALIBRATIONS:
            raise ValueError(f"{master.kind!r} is not a master kind ({', '.join(CALIBRATIONS)})")
        data_id = DataCoordinate.standardize(
            instrument=INSTRUMENT, detector=detector_id(master.detector),
            universe=butler.dimensions)
        refs.append(deterministic_ref(butler.get_dataset_type(master.kind), data_id, run))
    validity = Timespan(tai_time(begin_tai), None)
    with butler.transaction():
        butler.ingest(*(FileDataset(path=str(m.path.resolve()), refs=[ref],
                                    formatter=ExposureFormatter)
                        for m, ref in zip(masters, refs, strict=True)),
                      transfer="direct", skip_existing=True)
        for kind in {ref.datasetType.name for ref in refs}:
            of_kind = [ref for ref in refs if ref.datasetType.name == kind]
            if butler.query_datasets(kind, collections=CALIBRATION, find_first=False,
                                     explain=False, limit=1):
                butler.registry.decertify(CALIBRATION, kind, validity,
                                          dataIds=[ref.dataId for ref in of_kind])
            butler.registry.certify(CALIBRATION, of_kind, validity)
    return refs


def find_master(butler: Butler, kind: str, detector: str, when_tai: float) -> DatasetRef:
    """The master of ``kind`` valid for ``detector`` at ``when_tai``; MasterMissing if none."""
    instant = tai_time(when_tai)
    ref = butler.find_dataset(
        kind, instrument=INSTRUMENT, detector=detector_id(detector), collections=CALIBRATION,
        timespan=Timespan.fromInstant(instant))
    if ref is None:
        raise MasterMissing(f"no master {kind} for {detector} certified in {CALIBRATION} "
                            f"at that time; run calib-{kind} first")
    return ref


def load_masters(butler: Butler, detector: str, when_tai: float) -> list[Exposure]:
    """The bias, dark and flat valid for ``detector`` at ``when_tai``, in that order."""
    return [butler.get(find_master(butler, kind, detector, when_tai)) for kind in CALIBRATIONS]
