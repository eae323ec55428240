"""Walking a component through the summary state machine, one command per step."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from dmcs.ocs.errors import CommandFailedError, NoPathError, NotRunningError
from dmcs.sal.ack import AckCode, AckError
from dmcs.sal.remote import Remote
from dmcs.sal.tai import current_tai
from dmcs.state_machines.summary_state import TRANSITIONS, State, TransitionNotAllowed, path_to

#: Called after each step: (from, to, command, round trip seconds).
StepCallback = Callable[[State, State, str, float], None]
DEFAULT_STEP_TIMEOUT = 30.0
STATE_WAIT_S = 10.0
#: Chances a component too busy to answer (NOACK) gets in a walk by the DMCS or a script.
BUSY_ATTEMPTS = 3
HEARD_POLL_S = 0.2
STATE_SETTLE_S = 1.0


def current_state(remote: Remote) -> State:
    """The last summaryState the component published (a Remote gets it from history)."""
    sample: Any = remote.evt("summaryState").get()
    if sample is None:
        raise NotRunningError(f"{remote.name} has never published its summary state")
    return State(sample.summaryState)


async def published_state(remote: Remote, timeout: float = STATE_WAIT_S) -> State:
    """The component's summary state, waiting up to `timeout` for the first one."""
    try:
        sample: Any = await remote.evt("summaryState").aget(timeout=timeout)
    except TimeoutError:
        raise NotRunningError(f"{remote.name} published no summary state within "
                              f"{timeout:.0f} s") from None
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
    attempts: int = 1,
) -> list[float]:
    """Send the state commands that take the component to `target`; return each round trip.

    `start` defaults to the state the component last published. A command that does not
    complete raises CommandFailedError with the component's reason and the final ack. With
    `attempts` > 1, a component too busy to answer (NOACK), or one whose published state was
    stale (the step was "not allowed"), is given more chances: once it is heard again, the
    path is worked out again from the state it then publishes (the command may have gone
    through).
    """
    round_trips: list[float] = []
    for attempt in range(attempts):
        state = start if start is not None and attempt == 0 else await published_state(remote)
        try:
            for command in plan(remote, state, target):
                round_trips.append(await _step(remote, command, timeout, override))
                after = next(dst for cmd, src, dst in TRANSITIONS
                             if cmd == command and src == state)
                if on_step is not None:
                    on_step(state, after, command, round_trips[-1])
                state = after
            return round_trips
        except CommandFailedError as err:
            # A state read from the component's events may be stale (after a NOACK, or when
            # the summaryState of an earlier walk's last step has not arrived yet: events and
            # acks are separate topics): a step that races the component's own state change
            # is worth another look at the state it then publishes.
            racing = (attempt > 0 or start is None) and err.code is AckCode.FAILED \
                and "not allowed in state" in err.ack_error.ack.result
            if not (err.code is AckCode.NOACK or racing) or attempt == attempts - 1:
                raise
            await _heard_again(remote, since=current_tai(), timeout=timeout)
    return round_trips


async def _step(remote: Remote, command: str, timeout: float, override: str) -> float:
    fields: dict[str, Any] = {"configurationOverride": override} if command == "start" else {}
    began = time.perf_counter()
    try:
        await remote.cmd(command).start(timeout=timeout, **fields)
    except AckError as err:
        raise CommandFailedError(f"{remote.name} {err}", err) from None
    return time.perf_counter() - began


async def _heard_again(remote: Remote, *, since: float, timeout: float) -> None:
    """Wait for a heartbeat sent after `since`, then a moment for its state to arrive."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        beat: Any = remote.evt("heartbeat").get()
        if beat is not None and beat.private_sndStamp > since:
            break
        await asyncio.sleep(HEARD_POLL_S)
    await asyncio.sleep(STATE_SETTLE_S)
