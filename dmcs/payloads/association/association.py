"""Association of a visit's DIASources with DIAObjects by sky position.

Each DIASource joins the nearest DIAObject within the radius (a DIAObject takes at most one
source per visit: the nearest; the others found no object). Unassociated sources found new
DIAObjects, numbered in the order given, so the same inputs always give the same ids. A source
already in the APDB is skipped, so re-running a visit does not duplicate its history.
A DIAObject's new version starts (``validityStartMjdTai``) at the midpoint of the visit
that changed it; the sources carry ``midpointMjdTai`` and ``timeProcessedMjdTai``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.lib.recfunctions as rfn
from astropy import units as u
from astropy.coordinates import SkyCoord

from dmcs.payloads.association.apdb import SOURCE_COLUMNS, Apdb


@dataclass(frozen=True)
class AssociationResult:
    """For each input source (in input order): its DIAObject, or -1 if it was already stored."""

    object_ids: np.ndarray
    new_object_ids: list[int]
    updated_object_ids: list[int]


def with_visit_times(sources: np.ndarray, midpoint_mjd_tai: np.ndarray,
                     processed_mjd_tai: float) -> np.ndarray:
    """DIASources as association takes them: with their visit's midpoint and processing time
    (and a ``diaObjectId`` column, filled in by ``associate``'s store)."""
    count = len(sources)
    return rfn.append_fields(
        sources,
        ["diaObjectId", "midpointMjdTai", "timeProcessedMjdTai"],
        [np.full(count, -1, dtype=np.int64), np.asarray(midpoint_mjd_tai, dtype=np.float64),
         np.full(count, processed_mjd_tai)],
        usemask=False,
    )


def _nearest_objects(sources: np.ndarray, objects: np.ndarray, radius_arcsec: float) -> np.ndarray:
    """Index of the object each source joins, -1 for none."""
    choice = np.full(len(sources), -1)
    if len(objects) == 0 or len(sources) == 0:
        return choice
    source_coords = SkyCoord(sources["ra"] * u.deg, sources["dec"] * u.deg)
    object_coords = SkyCoord(objects["ra"] * u.deg, objects["dec"] * u.deg)
    index, separation, _ = source_coords.match_to_catalog_sky(object_coords)
    separation_arcsec = separation.arcsec
    for source in np.argsort(separation_arcsec, kind="stable"):
        if separation_arcsec[source] > radius_arcsec:
            break
        if index[source] not in choice:
            choice[source] = index[source]
    return choice


def associate(apdb: Apdb, sources: np.ndarray, radius_arcsec: float) -> AssociationResult:
    """Associate one visit's DIASources (sorted by id, ``with_visit_times``) and store them;
    one transaction."""
    object_ids = np.full(len(sources), -1, dtype=np.int64)
    with apdb.transaction():
        known = apdb.known_source_ids(sources["diaSourceId"])
        fresh = np.array([int(i) not in known for i in sources["diaSourceId"]], dtype=bool)
        pending = sources[fresh]
        if len(pending) == 0:
            return AssociationResult(object_ids, [], [])
        margin = radius_arcsec / 3600
        ra_margin = margin / max(np.cos(np.deg2rad(np.abs(pending["dec"]).max() + margin)), 1e-3)
        objects = apdb.objects_in(
            float(pending["ra"].min() - ra_margin),
            float(pending["ra"].max() + ra_margin),
            float(pending["dec"].min() - margin),
            float(pending["dec"].max() + margin),
        )
        choice = _nearest_objects(pending, objects, radius_arcsec)
        updated = objects[np.unique(choice[choice >= 0])].copy()
        by_index = {int(i): n for n, i in enumerate(np.unique(choice[choice >= 0]))}
        next_id = apdb.next_object_id()
        assigned = np.empty(len(pending), dtype=np.int64)
        new_objects = []
        for k, source in enumerate(pending):
            midpoint = float(source["midpointMjdTai"])
            if choice[k] >= 0:
                target = updated[by_index[int(choice[k])]]
                n = target["nDiaSources"]
                target["ra"] = (target["ra"] * n + source["ra"]) / (n + 1)
                target["dec"] = (target["dec"] * n + source["dec"]) / (n + 1)
                target["nDiaSources"] = n + 1
                target["lastVisit"] = max(target["lastVisit"], source["visit"])
                target["validityStartMjdTai"] = midpoint
                target["lastDiaSourceMjdTai"] = max(target["lastDiaSourceMjdTai"], midpoint)
                assigned[k] = target["diaObjectId"]
            else:
                assigned[k] = next_id
                new_objects.append(
                    (next_id, source["ra"], source["dec"], 1, source["visit"], source["visit"],
                     midpoint, midpoint, midpoint)
                )
                next_id += 1
        if len(updated):
            apdb.upsert_objects(updated)
        if new_objects:
            apdb.upsert_objects(np.array(new_objects, dtype=updated.dtype))
        rows = pending.copy()
        rows["diaObjectId"] = assigned
        apdb.insert_sources([tuple(row[name].item() for name in SOURCE_COLUMNS) for row in rows])
    object_ids[fresh] = assigned
    return AssociationResult(
        object_ids, [o[0] for o in new_objects], [int(i) for i in updated["diaObjectId"]]
    )
