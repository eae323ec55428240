"""Prompt processing's products in the Butler: one RUN per night, chained where users look.

Dataset types, each with dimensions (instrument, detector, visit): ``calexp`` and ``diffim``
(the payloads' ``Exposure``, FITS through our formatter), ``src`` and ``diasrc`` (numpy
structured tables, stored as parquet by daf_butler's own ``ArrowNumpy`` support).
``PromptOutputs(butler, dayobs).put(name, product, visit=…, detector=…)`` is the one call
prompt processing makes per product: the night's RUN ``LSSTCam/prompt/<dayobs>`` is registered
and put first in the chain ``LSSTCam/prompt`` on first use. Ids are deterministic and a product
already there is kept: a CCD is processed once, and a re-run does not replace what was
published. The visit must be known (the archiver records it with the visit's raws).
"""

from __future__ import annotations

from typing import Any

from lsst.daf.butler import Butler, DatasetRef
from lsst.daf.butler.registry import ConflictingDefinitionError, DataIdValueError

from dmcs.butler.collections import PROMPT, prompt_run
from dmcs.butler.instrument import INSTRUMENT, detector_id
from dmcs.butler.refs import deterministic_ref
from dmcs.butler.repository import EXPOSURES, TABLES

PRODUCTS = (*EXPOSURES, *TABLES)


class UnknownVisit(LookupError):
    """A product of a visit the repository has no record of (its raws are not in yet)."""


class PromptOutputs:
    """The products of one night (``dayobs``), put into its RUN."""

    def __init__(self, butler: Butler, dayobs: str | int) -> None:
        self.butler = butler
        self.run = prompt_run(dayobs)
        registry = butler.registry
        if registry.registerRun(self.run):
            chain = [c for c in registry.getCollectionChain(PROMPT) if c != self.run]
            registry.setCollectionChain(PROMPT, [self.run, *chain])

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
        return deterministic_ref(self.butler.get_dataset_type(name), data_id, self.run)

    def put(self, name: str, product: Any, *, visit: int, detector: str) -> DatasetRef:
        """Store one product; one already stored is kept and its ref returned."""
        ref = self.ref(name, visit, detector)
        if self.butler.stored(ref):
            return ref
        try:
            return self.butler.put(product, ref)
        except ConflictingDefinitionError:  # another process put it between our two calls
            return ref
