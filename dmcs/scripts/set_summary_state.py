"""`set_summary_state`: walk components to summary states, in the order given."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from dmcs.csc.registry import get_interface
from dmcs.ocs import BUSY_ATTEMPTS, walk_to_state
from dmcs.sal.remote import Remote
from dmcs.scripts.base_script import BaseScript
from dmcs.state_machines.summary_state import State
from dmcs.validation import StrictModel


class Target(StrictModel):
    """One component (`Name` or `Name:index`), the state to reach, the override to start with."""

    component: str
    state: str
    override: str = ""


class SetSummaryStateConfig(StrictModel):
    data: list[Target] = Field(min_length=1)
    timeout: float = Field(60.0, gt=0)


class SetSummaryStateScript(BaseScript):
    """The observatory's standard script of the same name."""

    config_model = SetSummaryStateConfig
    description = "Walk components to summary states, one after the other."

    async def configure(self, config: Any) -> None:
        self.targets: list[tuple[str, int, State, str]] = []
        for target in config.data:
            name, _, index = target.component.partition(":")
            get_interface(name)
            try:
                state = State[target.state.upper()]
            except KeyError:
                raise ValueError(f"{target.component}: unknown state {target.state!r}; "
                                 f"known: {', '.join(s.name for s in State)}") from None
            self.targets.append((name, int(index or 0), state, target.override))
        self.total_checkpoints = len(self.targets)
        self.timeout = config.timeout

    async def run(self) -> None:
        for name, index, state, override in self.targets:
            async with Remote(self.domain, get_interface(name), index,
                              include=["summaryState"]) as remote:
                await walk_to_state(remote, state, override=override, timeout=self.timeout,
                                    attempts=BUSY_ATTEMPTS)
            await self.checkpoint(f"{remote.name} {state.name}")
