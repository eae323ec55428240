"""Times as the Butler takes them: astropy TAI, from dmcs's TAI unix seconds."""

from __future__ import annotations

import astropy.time
from lsst.daf.butler import Timespan

from dmcs.sal.tai import utc_from_tai


def tai_time(tai_unix: float) -> astropy.time.Time:
    return astropy.time.Time(utc_from_tai(tai_unix), format="unix", scale="utc").tai


def timespan(begin_tai: float, end_tai: float) -> Timespan:
    """From ``begin_tai`` to ``end_tai`` (an end before the beginning is taken as it)."""
    return Timespan(tai_time(begin_tai), tai_time(max(end_tai, begin_tai)))
