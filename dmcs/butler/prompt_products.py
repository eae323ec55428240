"""Prompt processing's products in the Butler: one RUN per night, chained where users look.

Dataset types, each with dimensions (instrument, detector, visit): ``calexp`` and ``diffim``
(the payloads' ``Exposure``, FITS through our formatter), ``src`` and ``diasrc`` (numpy
structured tables, stored as parquet by daf_butler's own ``ArrowNumpy`` support).
``PromptOutputs(butler)`` is what prompt processing writes through: ``put`` for an in-memory
product, ``ingest`` for an image file the payload already wrote (registered in place, so its
tile-compressed bytes are written once). A product goes into the RUN of its visit's night,
``LSSTCam/prompt/<day_obs>`` (the visit record's day_obs, so a daytime catch-up lands in the
night it belongs to), registered and chained in ``LSSTCam/prompt`` (newest first) on first
use. Ids are deterministic and a product already there is kept: a CCD is processed once, and
a re-run does not replace what was published. The visit must be known (the archiver records
it with the visit's raws): ``UnknownVisit`` otherwise, and the caller tries again later.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from lsst.daf.butler import Butler, DatasetRef, FileDataset
from lsst.daf.butler.registry import ConflictingDefinitionError, DataIdValueError

from dmcs.butler.collections import PROMPT, prompt_run
from dmcs.butler.exposure_format import ExposureFormatter
from dmcs.butler.instrument import INSTRUMENT, detector_id
from dmcs.butler.refs import deterministic_ref
from dmcs.butler.repository import EXPOSURES, TABLES

PRODUCTS = (*EXPOSURES, *TABLES)


class UnknownVisit(LookupError):
    """A product of a visit the repository has no record of (its raws are not in yet)."""


class PromptOutputs:
    """Puts prompt products into the RUN of their visit's night."""

    def __init__(self, butler: Butler) -> None:
        self.butler = butler
        self._runs: set[str] = set()

    def ref(self, name: str, visit: int, detector: str) -> DatasetRef:
        """The product's ref, with the id any run of prompt processing computes for it."""
        if name not in PRODUCTS:
            raise ValueError(f"{name!r} is not a prompt product ({', '.join(PRODUCTS)})")
        try:
            data_id = self.butler.registry.expandDataId(
                instrument=INSTRUMENT, detector=detector_id(detector), visit=visit)
        except DataIdValueError:
            raise UnknownVisit(
                f"visit {visit} is not in the repository yet: its raws come first") from None
        visit_record = data_id.records["visit"]
        assert visit_record is not None  # an expanded data ID has its records
        run = self._night_run(visit_record.day_obs)
        return deterministic_ref(self.butler.get_dataset_type(name), data_id, run)

    def _night_run(self, day_obs: int) -> str:
        run = prompt_run(day_obs)
        if run not in self._runs:
            registry = self.butler.registry
            if registry.registerRun(run):
                chain = set(registry.getCollectionChain(PROMPT)) | {run}
                registry.setCollectionChain(PROMPT, sorted(chain, reverse=True))
            self._runs.add(run)
        return run

    def put(self, name: str, product: Any, *, visit: int, detector: str) -> DatasetRef:
        """Store one product; one already stored is kept and its ref returned."""
        ref = self.ref(name, visit, detector)
        if self.butler.stored(ref):
            return ref
        try:
            return self.butler.put(product, ref)
        except ConflictingDefinitionError:  # another process put it between our two calls
            return ref

    def ingest(self, name: str, path: Path, *, visit: int, detector: str) -> DatasetRef:
        """Register an image file the payload wrote, where it is; one already there is kept."""
        if name not in EXPOSURES:
            raise ValueError(f"{name!r} is not an image product ({', '.join(EXPOSURES)})")
        ref = self.ref(name, visit, detector)
        dataset = FileDataset(path=str(path.resolve()), refs=[ref], formatter=ExposureFormatter)
        # ConflictingDefinitionError: another process ingested it at the same time
        with contextlib.suppress(ConflictingDefinitionError):
            self.butler.ingest(dataset, transfer="direct", skip_existing=True)
        return ref


def products_in(butler: Butler) -> dict[str, int]:
    """How many of each prompt product the repository's ``LSSTCam/prompt`` chain holds."""
    return {name: len(butler.query_datasets(name, collections=PROMPT, explain=False,
                                            limit=None))
            for name in PRODUCTS}
