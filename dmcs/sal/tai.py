"""TAI clock: the observatory timestamps samples in TAI seconds.

The TAI−UTC offset changes only at leap seconds, so it is computed once and refreshed hourly,
from ERFA's leap-second table (pyerfa, astropy's own engine: `import erfa` costs ~0.1 s
where `astropy.time` costs over a second, paid by every `dmcs` command).
"""

from __future__ import annotations

import time

import erfa

_REFRESH_SECONDS = 3600.0
_offset: float | None = None
_offset_computed_at = 0.0


def tai_minus_utc() -> float:
    """Seconds between TAI and UTC now (37 s since 2017), cached."""
    global _offset, _offset_computed_at
    now = time.time()
    if _offset is None or now - _offset_computed_at > _REFRESH_SECONDS:
        day = time.gmtime(now)
        _offset = float(erfa.dat(day.tm_year, day.tm_mon, day.tm_mday, 0.0))
        _offset_computed_at = now
    return _offset


def current_tai() -> float:
    """The current time as TAI unix seconds (what `private_sndStamp` carries)."""
    return time.time() + tai_minus_utc()


def utc_from_tai(tai: float) -> float:
    """Convert TAI unix seconds to UTC unix seconds."""
    return tai - tai_minus_utc()
