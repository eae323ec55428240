"""Walk a component to a summary state through its Remote (until `dmcs.ocs` offers it)."""

from __future__ import annotations

import asyncio
from typing import Any

from dmcs.sal.ack import AckCode, AckError
from dmcs.sal.remote import Remote
from dmcs.state_machines.summary_state import State, path_to

STATE_WAIT_S = 10.0
NOACK_ATTEMPTS = 3
NOACK_PAUSE_S = 3.0


async def current_state(remote: Remote, timeout: float = STATE_WAIT_S) -> State:
    """The component's last published summary state (waits for the first one)."""
    sample: Any = await remote.evt("summaryState").aget(timeout=timeout)
    return State(sample.summaryState)


async def walk_to_state(
    remote: Remote, target: State, *, override: str = "", timeout: float = 30.0,
    attempts: int = NOACK_ATTEMPTS,
) -> list[str]:
    """Send the state commands from where the component is to `target`; return them.

    A component busy enough to miss heartbeats (NOACK) is given `attempts` chances, the
    path worked out again from its state each time (the command may have gone through).
    Raises AckError (with the component's reason) if a command fails, TransitionNotAllowed if
    there is no way, TimeoutError if the component never published its state.
    """
    sent: list[str] = []
    for attempt in range(attempts):
        try:
            for command in path_to(await current_state(remote), target):
                fields: dict[str, Any] = (
                    {"configurationOverride": override} if command == "start" else {})
                await remote.cmd(command).start(timeout=timeout, **fields)
                sent.append(command)
            return sent
        except AckError as err:
            if AckCode(err.ack.ack) is not AckCode.NOACK or attempt == attempts - 1:
                raise
            await asyncio.sleep(NOACK_PAUSE_S)
    return sent
