"""Is a component alive? Judged from its heartbeats, one rule for every caller."""

from __future__ import annotations

from typing import Any

from dmcs.sal.tai import current_tai

#: A component silent for longer than this (3 heartbeat periods) is taken as not running.
HEARTBEAT_ALIVE_SECONDS = 3.0
#: How long a Remote lets a CSC stay silent before failing a command in flight (NOACK).
#: Automation (scripts, the DMCS) is patient: on a loaded host a CSC, or the reader of its
#: heartbeats, may be starved for seconds, and a restarted CSC is noticed at once anyway (its
#: heartbeats come from a new pid). The CLI asks for HEARTBEAT_ALIVE_SECONDS: a person
#: hears of a crash within seconds.
COMMAND_LIVENESS_SECONDS = 15.0


def heartbeat_age(beat: Any, now: float | None = None) -> float | None:
    """Seconds since the heartbeat sample `beat` was sent (None if there is none)."""
    if beat is None:
        return None
    return (current_tai() if now is None else now) - float(beat.private_sndStamp)


def is_alive(beat: Any, now: float | None = None,
             timeout: float = HEARTBEAT_ALIVE_SECONDS) -> bool:
    """True if the latest heartbeat is recent enough."""
    age = heartbeat_age(beat, now)
    return age is not None and age <= timeout
