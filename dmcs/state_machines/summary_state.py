"""The observatory's CSC summary state machine, as a table driven through `transitions`."""

from __future__ import annotations

from enum import IntEnum

from transitions import Machine, MachineError


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


class TransitionNotAllowed(ValueError):
    """A trigger was pulled in a state that does not allow it."""


class SummaryStateMachine:
    """The current summary state; `trigger(name)` moves it or raises TransitionNotAllowed."""

    state: State

    def __init__(self, initial: State = State.STANDBY) -> None:
        self._machine = Machine(
            model=self,
            states=list(State),
            transitions=[
                {"trigger": t, "source": src, "dest": dst} for t, src, dst in TRANSITIONS
            ],
            initial=initial,
            auto_transitions=False,
            model_attribute="state",
        )

    def allowed(self, trigger: str) -> bool:
        return trigger in self._machine.get_triggers(self.state)

    def target(self, trigger: str) -> State:
        """Where `trigger` would lead from the current state."""
        for name, src, dst in TRANSITIONS:
            if name == trigger and src == self.state:
                return dst
        raise self._not_allowed(trigger)

    def fire(self, trigger: str) -> State:
        try:
            self.trigger(trigger)  # type: ignore[attr-defined]
        except MachineError:
            raise self._not_allowed(trigger) from None
        return self.state

    def force(self, state: State) -> None:
        """Put the machine back where it was (after a failed begin/end hook)."""
        self._machine.set_state(state, model=self)

    def _not_allowed(self, trigger: str) -> TransitionNotAllowed:
        return TransitionNotAllowed(f"{trigger} not allowed in state {self.state.name}")


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
