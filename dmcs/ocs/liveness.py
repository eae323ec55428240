"""Whether a component a Remote talks to is running, in an operator's words."""

from __future__ import annotations

from dmcs.ocs.errors import NotRunningError
from dmcs.sal.liveness import HEARTBEAT_ALIVE_SECONDS, heartbeat_age
from dmcs.sal.remote import Remote


def not_running_reason(remote: Remote) -> str | None:
    """Why `remote`'s component looks stopped (from heartbeat history), or None if alive."""
    age = heartbeat_age(remote.evt("heartbeat").get())
    if age is None:
        return f"{remote.name} is not running (never seen on subname {remote.domain.subname})"
    if age > HEARTBEAT_ALIVE_SECONDS:
        return f"{remote.name} is not running (last heartbeat {age:.1f} s ago)"
    return None


def require_running(remote: Remote) -> None:
    """NotRunningError, saying how to start it, unless the component is running."""
    reason = not_running_reason(remote)
    if reason is not None:
        index = f" --index {remote.index}" if remote.index else ""
        raise NotRunningError(f"{reason}; start it with `dmcs run {remote.interface.name}"
                              f"{index}`")
