"""A state machine driven through `transitions` from a table of (trigger, source, dest).

Every machine of dmcs (CSC summary state, script state, visit lifecycle) is written as such
a table, once; its diagram in docs/ is drawn from the same table. A subclass names its
states (`states`), its table (`table`), where a new machine starts (`initial`), the error it
raises and how its state is named in messages (`noun`).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import ClassVar, Generic, TypeVar

from transitions import Machine, MachineError

StateT = TypeVar("StateT", bound=Enum)


class TransitionNotAllowed(ValueError):
    """A trigger was pulled in a state that does not allow it."""


class TableMachine(Generic[StateT]):
    """The current state; `fire(trigger)` moves it or raises `not_allowed`."""

    states: ClassVar[type[Enum]]
    table: ClassVar[Sequence[tuple[str, Enum, Enum]]]
    initial: ClassVar[Enum]
    not_allowed: ClassVar[type[ValueError]] = TransitionNotAllowed
    noun: ClassVar[str] = "state"
    state: StateT

    def __init__(self, state: StateT | None = None) -> None:
        """A machine in `state`, or in the subclass's `initial` one."""
        self._machine = Machine(
            model=self,
            states=list(self.states),
            transitions=[{"trigger": t, "source": s, "dest": d} for t, s, d in self.table],
            initial=self.initial if state is None else state,
            auto_transitions=False,
            model_attribute="state",
        )

    def allowed(self, trigger: str) -> bool:
        return trigger in self._machine.get_triggers(self.state)

    def target(self, trigger: str) -> StateT:
        """Where `trigger` would lead from the current state."""
        for name, src, dst in self.table:
            if name == trigger and src == self.state:
                return dst  # type: ignore[return-value]
        raise self._refusal(trigger)

    def fire(self, trigger: str) -> StateT:
        try:
            self.trigger(trigger)  # type: ignore[attr-defined]
        except (MachineError, AttributeError):
            raise self._refusal(trigger) from None
        return self.states(self.state)  # type: ignore[return-value]

    def force(self, state: StateT) -> None:
        """Put the machine in `state` (undoing a step whose hook failed)."""
        self._machine.set_state(state, model=self)

    def _refusal(self, trigger: str) -> ValueError:
        name = self.states(self.state).name
        return self.not_allowed(f"{trigger} not allowed in {self.noun} {name}")
