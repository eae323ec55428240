"""What can go wrong when commanding a component, as operators are told it."""

from __future__ import annotations

from dmcs.sal.ack import AckCode, AckError


class OcsError(Exception):
    """A commanding step could not be done; the message says why, for an operator."""


class NotRunningError(OcsError):
    """The component is not running (no recent heartbeat, or never seen)."""


class NoPathError(OcsError):
    """The summary state machine has no way from where the component is to the target."""


class CommandFailedError(OcsError):
    """A command ended in something other than COMPLETE; `code` is its final ack."""

    def __init__(self, message: str, ack_error: AckError) -> None:
        super().__init__(message)
        self.ack_error = ack_error

    @property
    def code(self) -> AckCode:
        return self.ack_error.code
