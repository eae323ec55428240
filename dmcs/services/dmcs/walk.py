"""Walk a component to a summary state through its Remote (until `dmcs.ocs` offers it)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from dmcs.sal.ack import AckCode, AckError
from dmcs.sal.remote import Remote
from dmcs.sal.tai import current_tai
from dmcs.state_machines.summary_state import State, path_to

STATE_WAIT_S = 10.0
NOACK_ATTEMPTS = 3
HEARD_POLL_S = 0.2
STATE_SETTLE_S = 1.0


async def current_state(remote: Remote, timeout: float = STATE_WAIT_S) -> State:
    """The component's last published summary state (waits for the first one)."""
    sample: Any = await remote.evt("summaryState").aget(timeout=timeout)
    return State(sample.summaryState)


async def walk_to_state(
    remote: Remote, target: State, *, override: str = "", timeout: float = 30.0,
    attempts: int = NOACK_ATTEMPTS,
) -> list[str]:
    """Send the state commands from where the component is to `target`; return them.

    A component busy enough to miss heartbeats (NOACK) is given `attempts` chances: once it
    is heard again, the path is worked out again from its state (the command may have gone
    through).
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
            code = AckCode(err.ack.ack)
            # After a NOACK the state we read may be stale: a step can then race the
            # component's own (late) state change, which is worth another look too.
            racing = attempt > 0 and code is AckCode.FAILED \
                and "not allowed in state" in err.ack.result
            if not (code is AckCode.NOACK or racing) or attempt == attempts - 1:
                raise
            await _heard_again(remote, since=current_tai(), timeout=timeout)
    return sent


async def _heard_again(remote: Remote, *, since: float, timeout: float) -> None:
    """Wait for a heartbeat sent after `since`, then a moment for its state to arrive."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        beat: Any = remote.evt("heartbeat").get()
        if beat is not None and beat.private_sndStamp > since:
            break
        await asyncio.sleep(HEARD_POLL_S)
    await asyncio.sleep(STATE_SETTLE_S)
