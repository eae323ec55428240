"""What the Butler is told about an image: the camera's DAQ entry, completed by its header.

The DAQ knows the image (name, day, sequence number, type, group, visit, snap, times); the
header service's cards add the filter, the pointing, the dark time and the survey. A
science image's visit spans the snaps of its group the DAQ holds so far, so the visit record
written with the last snap covers them all.
"""

from __future__ import annotations

from astropy.io import fits

from dmcs.butler.instrument import physical_filter
from dmcs.butler.raws import ExposureInfo, VisitSpan
from dmcs.sims.daq_store import DaqImage, DaqStore

SCIENCE = "OBJECT"


def _number(header: fits.Header | None, key: str) -> float | None:
    value = header.get(key) if header is not None else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def visit_span(daq: DaqStore, image: DaqImage) -> VisitSpan | None:
    """The science visit ``image`` belongs to, over the snaps of its group held so far."""
    if image.image_type != SCIENCE:
        return None
    snaps = [s for s in daq.images(group_id=image.group_id) if s.visit == image.visit] \
        if image.group_id else []
    snaps = snaps or [image]
    return VisitSpan(
        id=image.visit,
        first_seqnum=min(s.number for s in snaps),
        begin_tai=min(s.date_obs for s in snaps),
        end_tai=max(s.date_end or s.date_obs + s.exposure_time for s in snaps),
        exposure_time=sum(s.exposure_time for s in snaps),
    )


def exposure_info(daq: DaqStore, image: DaqImage, header: fits.Header | None) -> ExposureInfo:
    cards = header if header is not None else fits.Header()
    return ExposureInfo(
        obs_id=image.name,
        dayobs=image.dayobs,
        seqnum=image.number,
        image_type=image.image_type,
        group=image.group_id or image.name,
        exposure_time=image.exposure_time,
        dark_time=_number(header, "DARKTIME") or image.exposure_time,
        begin_tai=image.date_obs,
        end_tai=image.date_end or image.date_obs + image.exposure_time,
        physical_filter=physical_filter(image.image_type, str(cards.get("FILTER", ""))),
        tracking_ra=_number(header, "RA"),
        tracking_dec=_number(header, "DEC"),
        sky_angle=_number(header, "ROTPA"),
        science_program=str(cards.get("SURVEY", "")),
        visit=visit_span(daq, image),
    )
