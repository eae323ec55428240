"""The life of one visit, as the DMCS sees it: a table driven through `transitions`.

announced → integrating → read out → archived → processed → alerted, or, from anywhere
before alerted, late → caught up (daytime processing). A visit is also ``refused`` when
prompt processing cannot take it (unknown detector, no images): it is still archived, and
daytime processing catches it up like a late one.
"""

from __future__ import annotations

from enum import StrEnum

from dmcs.state_machines.table_machine import TableMachine, TransitionNotAllowed


class VisitState(StrEnum):
    """Where a visit is; the value is what the `visitState` event carries."""

    ANNOUNCED = "announced"
    INTEGRATING = "integrating"
    READ_OUT = "read_out"
    ARCHIVED = "archived"
    PROCESSED = "processed"
    ALERTED = "alerted"
    LATE = "late"
    CAUGHT_UP = "caught_up"


_V = VisitState
_BEFORE_ALERTED = (_V.ANNOUNCED, _V.INTEGRATING, _V.READ_OUT, _V.ARCHIVED, _V.PROCESSED)

#: Every legal (trigger, from, to).
TRANSITIONS: tuple[tuple[str, VisitState, VisitState], ...] = (
    ("integrate", _V.ANNOUNCED, _V.INTEGRATING),
    ("read_out", _V.INTEGRATING, _V.READ_OUT),
    ("archive", _V.READ_OUT, _V.ARCHIVED),
    ("process", _V.ARCHIVED, _V.PROCESSED),
    ("alert", _V.PROCESSED, _V.ALERTED),
    *(("late", src, _V.LATE) for src in _BEFORE_ALERTED),
    ("catch_up", _V.LATE, _V.CAUGHT_UP),
)

#: States a visit never leaves.
FINAL_STATES = frozenset({_V.ALERTED, _V.CAUGHT_UP})
#: States where the night stops waiting on a visit (a late one is left to the daytime jobs).
SETTLED_STATES = frozenset({*FINAL_STATES, _V.LATE})


class VisitTransitionNotAllowed(TransitionNotAllowed):
    """A trigger pulled in a state that does not allow it."""


class VisitMachine(TableMachine[VisitState]):
    """One visit's state; `fire(trigger)` moves it or raises VisitTransitionNotAllowed."""

    states = VisitState
    table = TRANSITIONS
    initial = VisitState.ANNOUNCED
    not_allowed = VisitTransitionNotAllowed
    noun = "visit state"
