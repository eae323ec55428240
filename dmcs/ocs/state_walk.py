"""Walking a component through the summary state machine, one command per step."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from dmcs.ocs.errors import CommandFailedError, NoPathError, NotRunningError
from dmcs.sal.ack import AckError
from dmcs.sal.remote import Remote
from dmcs.state_machines.summary_state import TRANSITIONS, State, TransitionNotAllowed, path_to

#: Called after each step: (from, to, command, round trip seconds).
StepCallback = Callable[[State, State, str, float], None]
DEFAULT_STEP_TIMEOUT = 30.0


def current_state(remote: Remote) -> State:
    """The last summaryState the component published (a Remote gets it from history)."""
    sample: Any = remote.evt("summaryState").get()
    if sample is None:
        raise NotRunningError(f"{remote.name} has never published its summary state")
    return State(sample.summaryState)


def plan(remote: Remote, start: State, target: State) -> list[str]:
    """The state commands from `start` to `target`; NoPathError if there is no way."""
    try:
        return path_to(start, target)
    except TransitionNotAllowed as err:
        raise NoPathError(f"{remote.name}: {err}") from None


async def walk_to_state(
    remote: Remote,
    target: State,
    *,
    start: State | None = None,
    timeout: float = DEFAULT_STEP_TIMEOUT,
    override: str = "",
    on_step: StepCallback | None = None,
) -> list[float]:
    """Send the state commands that take the component to `target`; return each round trip.

    `start` defaults to the state the component last published. A command that does not
    complete raises CommandFailedError with the component's reason and the final ack.
    """
    state = current_state(remote) if start is None else start
    round_trips: list[float] = []
    for command in plan(remote, state, target):
        after = next(dst for cmd, src, dst in TRANSITIONS if cmd == command and src == state)
        fields: dict[str, Any] = {"configurationOverride": override} if command == "start" else {}
        began = time.perf_counter()
        try:
            await remote.cmd(command).start(timeout=timeout, **fields)
        except AckError as err:
            raise CommandFailedError(f"{remote.name} {err}", err) from None
        round_trips.append(time.perf_counter() - began)
        if on_step is not None:
            on_step(state, after, command, round_trips[-1])
        state = after
    return round_trips
