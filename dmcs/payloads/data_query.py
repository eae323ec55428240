"""Data queries and work-item ids: ``visit=1..3 detector=R22_S11,R22_S12``.

A work item id uses the same grammar (``visit=1 detector=R22_S11``), so any item is itself a
valid query naming exactly that item. With a Butler repository, a query is resolved against
the raws ingested there (``resolve_in_butler``): the work is the (visit, detector) pairs that
have raws, and a query that matches none is refused, naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lsst.daf.butler import Butler

from dmcs.butler.data_queries import visit_detectors

KEYS = ("visit", "detector")


@dataclass(frozen=True)
class DataQuery:
    """Selected visits and detectors; ``None`` means the query did not constrain that key."""

    visits: tuple[int, ...] | None = None
    detectors: tuple[str, ...] | None = None


def _parse_visits(text: str, query: str) -> tuple[int, ...]:
    visits: list[int] = []
    for part in text.split(","):
        try:
            if ".." in part:
                first, last = (int(v) for v in part.split("..", 1))
                if last < first:
                    raise ValueError
                visits.extend(range(first, last + 1))
            else:
                visits.append(int(part))
        except ValueError:
            raise ValueError(
                f"bad visit {part!r} in data query {query!r}: "
                "expected integers, lists (1,2) or ranges (1..3)"
            ) from None
    if any(v < 1 for v in visits):
        raise ValueError(f"visits must be >= 1 in data query {query!r}")
    return tuple(sorted(set(visits)))


def parse_data_query(query: str) -> DataQuery:
    """Parse a query; raises ValueError naming the offending term."""
    fields: dict[str, str] = {}
    for term in query.split():
        key, separator, value = term.partition("=")
        if not separator or not value:
            raise ValueError(f"bad term {term!r} in data query {query!r}: expected key=value")
        if key not in KEYS:
            raise ValueError(
                f"unknown key {key!r} in data query {query!r}: expected one of {', '.join(KEYS)}"
            )
        if key in fields:
            raise ValueError(f"key {key!r} given twice in data query {query!r}")
        fields[key] = value
    visits = _parse_visits(fields["visit"], query) if "visit" in fields else None
    detectors = tuple(fields["detector"].split(",")) if "detector" in fields else None
    return DataQuery(visits, detectors)


def visit_detector_item(visit: int, detector: str) -> str:
    return f"visit={visit} detector={detector}"


def detector_item(detector: str) -> str:
    return f"detector={detector}"


def select_detectors(query: DataQuery, configured: list[str], text: str) -> list[str]:
    """The detectors a query names (all configured ones if it names none), each checked."""
    detectors = list(query.detectors) if query.detectors is not None else list(configured)
    for detector in detectors:
        if detector not in configured:
            raise ValueError(
                f"detector {detector!r} in data query {text!r} is not configured "
                f"(configured: {', '.join(configured)})"
            )
    return detectors


def resolve_in_butler(
    query: DataQuery, configured: list[str], text: str, repo: Path
) -> list[tuple[int, str]]:
    """The (visit, detector) pairs with raws in ``repo`` that the query selects among the
    configured detectors; ValueError naming the query when there are none."""
    detectors = select_detectors(query, configured, text)
    pairs = visit_detectors(Butler.from_config(str(repo)), query.visits, detectors)
    if not pairs:
        raise ValueError(f"data query {text!r} matches no raw in the Butler repository {repo}")
    return pairs
