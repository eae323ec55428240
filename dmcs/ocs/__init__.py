"""The operator's side as a library: what the CLI, the DMCS and OCS scripts do to components.

Walk a component to a summary state, tell whether it is running, send a command and follow
its acks. Errors are `OcsError`s carrying what an operator needs to read; the CLI maps them
to exit codes, the coordinator and scripts to their own reactions.
"""

from dmcs.ocs.errors import CommandFailedError, NotRunningError, OcsError
from dmcs.ocs.liveness import not_running_reason, require_running
from dmcs.ocs.state_walk import BUSY_ATTEMPTS, current_state, plan, walk_to_state

__all__ = [
    "BUSY_ATTEMPTS",
    "CommandFailedError",
    "NotRunningError",
    "OcsError",
    "current_state",
    "not_running_reason",
    "plan",
    "require_running",
    "walk_to_state",
]
