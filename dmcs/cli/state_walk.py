"""Walking a component through the summary state machine, one command per step."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from dmcs.cli.errors import CliError, ExitCode
from dmcs.sal.ack import AckError
from dmcs.sal.remote import Remote
from dmcs.state_machines.summary_state import TRANSITIONS, State, TransitionNotAllowed, path_to


def current_state(remote: Remote) -> State:
    """The last summaryState the component published (history gives it on start)."""
    sample: Any = remote.evt("summaryState").get()
    if sample is None:
        raise CliError(f"{remote.name} has never published its summary state",
                       ExitCode.NOT_RUNNING)
    return State(sample.summaryState)


def plan(remote: Remote, start: State, target: State) -> list[str]:
    """The state commands from `start` to `target`; a CliError if there is no way."""
    try:
        return path_to(start, target)
    except TransitionNotAllowed as err:
        raise CliError(f"{remote.name}: {err}") from None


async def walk(
    remote: Remote,
    start: State,
    target: State,
    *,
    timeout: float,
    override: str = "",
    on_step: Callable[[State, State, str, float], None],
) -> list[float]:
    """Send the state commands from `start` to `target`; return each round trip in seconds.

    A command that does not complete raises CliError with the component's reason and the
    exit status of its ack code.
    """
    round_trips: list[float] = []
    state = start
    for command in plan(remote, start, target):
        after = next(dst for cmd, src, dst in TRANSITIONS if cmd == command and src == state)
        fields: dict[str, Any] = {"configurationOverride": override} if command == "start" else {}
        began = time.perf_counter()
        try:
            await remote.cmd(command).start(timeout=timeout, **fields)
        except AckError as err:
            raise CliError(f"{remote.name} {err}", ExitCode.for_ack(err.code)) from None
        round_trips.append(time.perf_counter() - began)
        on_step(state, after, command, round_trips[-1])
        state = after
    return round_trips
