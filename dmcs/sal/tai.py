"""TAI clock: the observatory timestamps samples in TAI seconds.

Asking astropy for TAI on every message costs ~100 µs; the TAI−UTC offset changes only at
leap seconds, so it is computed once and refreshed hourly.
"""

from __future__ import annotations

import time

from astropy.time import Time

_REFRESH_SECONDS = 3600.0
_offset: float | None = None
_offset_computed_at = 0.0


def tai_minus_utc() -> float:
    """Seconds between TAI and UTC now (37 s since 2017), cached."""
    global _offset, _offset_computed_at
    now = time.time()
    if _offset is None or now - _offset_computed_at > _REFRESH_SECONDS:
        utc = Time(now, format="unix", scale="utc")
        _offset = float(utc.unix_tai - utc.unix)
        _offset_computed_at = now
    return _offset


def current_tai() -> float:
    """The current time as TAI unix seconds (what `private_sndStamp` carries)."""
    return time.time() + tai_minus_utc()


def utc_from_tai(tai: float) -> float:
    """Convert TAI unix seconds to UTC unix seconds."""
    return tai - tai_minus_utc()
