"""Data queries resolved against the repository: which (visit, detector) have raws.

``visit_detectors(butler, visits, detectors)`` is what OCPS and ``dmcs batch`` jobs ask before
they plan work: the pairs the query's visits and detectors select among the raws ingested, in
visit then detector order. ``None`` leaves a key unconstrained.
"""

from __future__ import annotations

from collections.abc import Sequence

from lsst.daf.butler import Butler

from dmcs.butler.collections import RAW_RUN
from dmcs.butler.instrument import INSTRUMENT, detector_id, science_detectors
from dmcs.butler.repository import RAW


def visit_detectors(butler: Butler, visits: Sequence[int] | None,
                    detectors: Sequence[str] | None) -> list[tuple[int, str]]:
    """The (visit, detector name) pairs with a raw in the repository that the query selects."""
    where = ["instrument = instr"]
    bind: dict[str, object] = {"instr": INSTRUMENT}
    if visits is not None:
        where.append("visit IN (visits)")
        bind["visits"] = tuple(visits)
    if detectors is not None:
        where.append("detector IN (detectors)")
        bind["detectors"] = tuple(detector_id(name) for name in detectors)
    names = {d.id: d.full_name for d in science_detectors()}
    with butler.query() as query:
        data_ids = list(query.join_dataset_search(RAW, [RAW_RUN])
                        .data_ids(["visit", "detector"])
                        .where(" AND ".join(where), bind=bind))
    pairs = {(int(d["visit"]), names[int(d["detector"])]) for d in data_ids}
    return sorted(pairs, key=lambda pair: (pair[0], detector_id(pair[1])))
