"""Association of one CCD's DIASources with DIAObjects by sky position, in the APDB.

Read the DiaObjects in the CCD's region (its sources' box plus the radius), match, store the
DIASources and a new version of every DiaObject they touched (``validityStartMjdTai`` = the
visit's midpoint), all under the APDB's writer lock. Each DIASource joins the nearest
DIAObject within the radius (a DIAObject takes at most one source per visit: the nearest; the
others found no object). Unassociated sources found new DIAObjects, numbered in the order
given, so the same inputs always give the same ids. A CCD already in the APDB is skipped, so
re-running a visit does not duplicate its history. The sources carry ``midpointMjdTai`` and
``timeProcessedMjdTai`` (``with_visit_times``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import astropy.time
import numpy as np
import numpy.lib.recfunctions as rfn
import pandas as pd
from astropy import units as u
from astropy.coordinates import SkyCoord

from dmcs.payloads.association.apdb import ApdbClient, sky_box

BANDS = ("u", "g", "r", "i", "z", "y")
#: The simulated camera observes in one band.
BAND = "r"
#: DIASource fields stored in the APDB (the rest of its columns stay null).
STORED_SOURCE_FIELDS = (
    "diaSourceId", "diaObjectId", "visit", "detector", "ra", "dec", "x", "y", "psfFlux",
    "psfFluxErr", "snr", "isNegative", "midpointMjdTai", "timeProcessedMjdTai", "psfNdata",
    "bboxSize",
)


@dataclass(frozen=True)
class AssociationResult:
    """For each input source (in input order): its DIAObject, or -1 if it was already stored;
    the new versions of the objects touched and their earlier DIASources (oldest first)."""

    object_ids: np.ndarray
    new_object_ids: list[int]
    updated_object_ids: list[int]
    objects: dict[int, dict[str, Any]] = field(default_factory=dict)
    history: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


def with_visit_times(sources: np.ndarray, midpoint_mjd_tai: np.ndarray,
                     processed_mjd_tai: float) -> np.ndarray:
    """DIASources as association takes them: with their visit's midpoint and processing time
    (and a ``diaObjectId`` column, filled in by ``associate``)."""
    count = len(sources)
    return rfn.append_fields(
        sources,
        ["diaObjectId", "midpointMjdTai", "timeProcessedMjdTai"],
        [np.full(count, -1, dtype=np.int64), np.asarray(midpoint_mjd_tai, dtype=np.float64),
         np.full(count, processed_mjd_tai)],
        usemask=False,
    )


def _nearest_objects(sources: np.ndarray, ra: np.ndarray, dec: np.ndarray,
                     radius_arcsec: float) -> np.ndarray:
    """Index of the object each source joins, -1 for none."""
    choice = np.full(len(sources), -1)
    if len(ra) == 0 or len(sources) == 0:
        return choice
    source_coords = SkyCoord(sources["ra"] * u.deg, sources["dec"] * u.deg)
    object_coords = SkyCoord(ra * u.deg, dec * u.deg)
    index, separation, _ = source_coords.match_to_catalog_sky(object_coords)
    separation_arcsec = separation.arcsec
    taken: set[int] = set()
    for source in np.argsort(separation_arcsec, kind="stable"):
        if separation_arcsec[source] > radius_arcsec:
            break
        if int(index[source]) not in taken:
            taken.add(int(index[source]))
            choice[source] = index[source]
    return choice


def _region(sources: np.ndarray, radius_arcsec: float) -> Any:
    margin = radius_arcsec / 3600
    ra_margin = margin / max(np.cos(np.deg2rad(np.abs(sources["dec"]).max() + margin)), 1e-3)
    return sky_box(float(sources["ra"].min() - ra_margin), float(sources["ra"].max() + ra_margin),
                   float(sources["dec"].min() - margin), float(sources["dec"].max() + margin))


def _object_version(object_id: int, ra: float, dec: float, n: int, first: float,
                    last: float, start: float) -> dict[str, Any]:
    version: dict[str, Any] = {
        "diaObjectId": object_id, "ra": ra, "dec": dec, "nDiaSources": n,
        "firstDiaSourceMjdTai": first, "lastDiaSourceMjdTai": last,
        "validityStartMjdTai": start,
    }
    for band in BANDS:
        version[f"{band}_psfFluxNdata"] = n if band == BAND else 0
    return version


def _history(found: pd.DataFrame, visit: int, limit: int) -> dict[int, list[dict[str, Any]]]:
    """Each object's last ``limit`` DIASources before ``visit``, oldest first (the stored
    fields: the APDB's other columns are null)."""
    if found.empty or limit <= 0:
        return {}
    earlier = found[found["visit"] < visit].sort_values(["diaObjectId", "visit", "diaSourceId"])
    earlier = earlier.groupby("diaObjectId").tail(limit)
    columns = [*STORED_SOURCE_FIELDS, "band"]
    history: dict[int, list[dict[str, Any]]] = {}
    for row in earlier[columns].astype(object).to_dict("records"):
        history.setdefault(int(row["diaObjectId"]), []).append(
            {k: _plain(v) for k, v in row.items()})
    return history


def _plain(value: Any) -> Any:
    """A pandas/numpy cell as a plain Python value (None for a missing one)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return value.item() if hasattr(value, "item") else value


def associate(apdb: ApdbClient, sources: np.ndarray, radius_arcsec: float,
              history_length: int = 0) -> AssociationResult:
    """Associate one CCD's DIASources (one visit, sorted by id) and store them."""
    object_ids = np.full(len(sources), -1, dtype=np.int64)
    if len(sources) == 0:
        return AssociationResult(object_ids, [], [])
    visit, detector = int(sources["visit"][0]), int(sources["detector"][0])
    midpoint = float(sources["midpointMjdTai"][0])
    visit_time = astropy.time.Time(midpoint, format="mjd", scale="tai")
    region = _region(sources, radius_arcsec)
    with apdb.association():
        if apdb.contains(visit, detector):
            return AssociationResult(object_ids, [], [])
        known = apdb.objects_in(region)
        # an object already given a source this visit (by a neighbouring CCD) takes no other
        known = known[known["validityStartMjdTai"] != midpoint].reset_index(drop=True)
        choice = _nearest_objects(sources, known["ra"].to_numpy(), known["dec"].to_numpy(),
                                  radius_arcsec)
        next_id = apdb.next_object_id()
        versions: dict[int, dict[str, Any]] = {}
        new_ids: list[int] = []
        for k, source in enumerate(sources):
            if choice[k] >= 0:
                row = known.iloc[int(choice[k])]
                n = int(row["nDiaSources"])
                first = _plain(row["firstDiaSourceMjdTai"])
                versions[int(row["diaObjectId"])] = _object_version(
                    int(row["diaObjectId"]),
                    (float(row["ra"]) * n + float(source["ra"])) / (n + 1),
                    (float(row["dec"]) * n + float(source["dec"])) / (n + 1),
                    n + 1, midpoint if first is None else float(first), midpoint, midpoint)
                object_ids[k] = int(row["diaObjectId"])
            else:
                versions[next_id] = _object_version(next_id, float(source["ra"]),
                                                    float(source["dec"]), 1, midpoint,
                                                    midpoint, midpoint)
                new_ids.append(next_id)
                object_ids[k] = next_id
                next_id += 1
        updated = [i for i in versions if i not in new_ids]
        history = _history(apdb.sources_of(region, updated, visit_time), visit, history_length)
        stored = pd.DataFrame({name: sources[name] for name in STORED_SOURCE_FIELDS
                               if name != "diaObjectId"})
        stored["diaObjectId"] = object_ids
        stored["isNegative"] = stored["isNegative"].astype(bool)
        stored["band"] = BAND
        stored["trailNdata"] = 0
        stored["dipoleNdata"] = 0
        objects = pd.DataFrame(list(versions.values())).drop(columns="validityStartMjdTai")
        apdb.store(visit_time, objects, stored)
    return AssociationResult(object_ids, new_ids, updated, versions, history)
