"""The observatory's CSC summary state machine, as a table driven through `transitions`."""

from __future__ import annotations

from enum import IntEnum

from dmcs.state_machines.table_machine import TableMachine, TransitionNotAllowed


class State(IntEnum):
    """Summary states with their SAL values."""

    DISABLED = 1
    ENABLED = 2
    FAULT = 3
    OFFLINE = 4
    STANDBY = 5


#: Every legal (trigger, from, to). Commands are the first five; `fault` is internal.
TRANSITIONS: tuple[tuple[str, State, State], ...] = (
    ("start", State.STANDBY, State.DISABLED),
    ("enable", State.DISABLED, State.ENABLED),
    ("disable", State.ENABLED, State.DISABLED),
    ("standby", State.DISABLED, State.STANDBY),
    ("standby", State.FAULT, State.STANDBY),
    ("exitControl", State.STANDBY, State.OFFLINE),
    ("fault", State.STANDBY, State.FAULT),
    ("fault", State.DISABLED, State.FAULT),
    ("fault", State.ENABLED, State.FAULT),
)

STATE_COMMANDS = ("start", "enable", "disable", "standby", "exitControl")


class SummaryStateMachine(TableMachine[State]):
    """The current summary state; `fire(trigger)` moves it or raises TransitionNotAllowed."""

    states = State
    table = TRANSITIONS
    initial = State.STANDBY


def path_to(current: State, target: State) -> list[str]:
    """The state commands that walk from `current` to `target` (breadth-first)."""
    frontier: list[tuple[State, list[str]]] = [(current, [])]
    seen = {current}
    while frontier:
        state, path = frontier.pop(0)
        if state == target:
            return path
        for trigger, src, dst in TRANSITIONS:
            if src == state and trigger in STATE_COMMANDS and dst not in seen:
                seen.add(dst)
                frontier.append((dst, [*path, trigger]))
    raise TransitionNotAllowed(f"no way from {current.name} to {target.name}")
