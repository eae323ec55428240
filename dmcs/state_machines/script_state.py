"""The life of an OCS script (ts_salobj's BaseScript states), as a table through `transitions`.

UNCONFIGURED → CONFIGURED → RUNNING ↔ PAUSED → ENDING → DONE; a stop request goes through
STOPPING to STOPPED, an error through FAILING to FAILED. Values are the observatory's
(``ScriptState`` of ts_idl), so OCS displays read them unchanged.
"""

from __future__ import annotations

from enum import IntEnum

from dmcs.state_machines.table_machine import TableMachine, TransitionNotAllowed


class ScriptState(IntEnum):
    """Script states with the observatory's numbers."""

    UNCONFIGURED = 1
    CONFIGURED = 2
    RUNNING = 3
    PAUSED = 4
    ENDING = 5
    STOPPING = 6
    FAILING = 7
    DONE = 8
    STOPPED = 9
    FAILED = 10


_S = ScriptState

#: Every legal (trigger, from, to).
TRANSITIONS: tuple[tuple[str, ScriptState, ScriptState], ...] = (
    ("configure", _S.UNCONFIGURED, _S.CONFIGURED),
    ("run", _S.CONFIGURED, _S.RUNNING),
    ("pause", _S.RUNNING, _S.PAUSED),
    ("resume", _S.PAUSED, _S.RUNNING),
    ("end", _S.RUNNING, _S.ENDING),
    ("finish", _S.ENDING, _S.DONE),
    *(("stop", src, _S.STOPPING)
      for src in (_S.UNCONFIGURED, _S.CONFIGURED, _S.RUNNING, _S.PAUSED)),
    ("finish", _S.STOPPING, _S.STOPPED),
    *(("fail", src, _S.FAILING) for src in (_S.RUNNING, _S.PAUSED, _S.ENDING)),
    ("finish", _S.FAILING, _S.FAILED),
)

#: States a script never leaves.
FINAL_STATES = frozenset({_S.DONE, _S.STOPPED, _S.FAILED})


class ScriptTransitionNotAllowed(TransitionNotAllowed):
    """A trigger pulled in a state that does not allow it."""


class ScriptStateMachine(TableMachine[ScriptState]):
    """A script's state; `fire(trigger)` moves it or raises ScriptTransitionNotAllowed."""

    states = ScriptState
    table = TRANSITIONS
    initial = ScriptState.UNCONFIGURED
    not_allowed = ScriptTransitionNotAllowed
    noun = "script state"
