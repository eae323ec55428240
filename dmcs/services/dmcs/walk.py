"""Walk a component to a summary state through its Remote (until `dmcs.ocs` offers it)."""

from __future__ import annotations

from typing import Any

from dmcs.sal.remote import Remote
from dmcs.state_machines.summary_state import State, path_to

STATE_WAIT_S = 10.0


async def current_state(remote: Remote, timeout: float = STATE_WAIT_S) -> State:
    """The component's last published summary state (waits for the first one)."""
    sample: Any = await remote.evt("summaryState").aget(timeout=timeout)
    return State(sample.summaryState)


async def walk_to_state(
    remote: Remote, target: State, *, override: str = "", timeout: float = 30.0
) -> list[str]:
    """Send the state commands from where the component is to `target`; return them.

    Raises AckError (with the component's reason) if a command fails, TransitionNotAllowed if
    there is no way, TimeoutError if the component never published its state.
    """
    commands = path_to(await current_state(remote), target)
    for command in commands:
        fields: dict[str, Any] = {"configurationOverride": override} if command == "start" else {}
        await remote.cmd(command).start(timeout=timeout, **fields)
    return commands
