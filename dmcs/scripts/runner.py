"""Run one script in this process, from configuration to its final state."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import SCRIPT
from dmcs.scripts.base_script import BaseScript
from dmcs.state_machines.script_state import ScriptState


def default_script_index() -> int:
    """A script id unlikely to collide with another script run on this machine."""
    return 100000 + os.getpid() % 900000


async def run_script(
    domain: Domain,
    cls: type[BaseScript],
    index: int,
    config_text: str,
    *,
    stop_requested: asyncio.Future[Any] | None = None,
    on_start: Callable[[BaseScript], None] | None = None,
) -> BaseScript:
    """Configure and run a script until it ends; `stop_requested` resolving stops it.

    A bad configuration raises ExpectedError (the script never ran). Returns the ended
    script (``script.state`` is DONE, STOPPED or FAILED; ``script.reason`` says why).
    """
    script = cls(domain, index)
    await script.start()
    try:
        if on_start is not None:
            on_start(script)
        configure = SCRIPT.commands["configure"].model_validate({"config": config_text})
        await script.do_configure(configure)
        await script.do_run(SCRIPT.commands["run"]())
        waits: list[asyncio.Future[Any]] = [script.finished]
        if stop_requested is not None:
            waits.append(stop_requested)
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        if not script.finished.done() and script.script_state.allowed("stop"):
            await script.request_stop("interrupted")
        await script.finished
    finally:
        await script.close()
    return script


def exit_status(state: ScriptState) -> int:
    """0 for DONE, 1 for FAILED, 130 (interrupted) for STOPPED."""
    return {ScriptState.DONE: 0, ScriptState.STOPPED: 130}.get(state, 1)
