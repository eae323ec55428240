"""`sleep`: wait in steps, a checkpoint per step (the simplest standard script)."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import Field

from dmcs.scripts.base_script import BaseScript
from dmcs.validation import StrictModel


class SleepConfig(StrictModel):
    """How long, in how many steps (each step ends at a checkpoint named `step <n>`)."""

    duration: float = Field(1.0, ge=0, le=86400)
    steps: int = Field(1, ge=1, le=10000)


class SleepScript(BaseScript):
    """Sleeps; used to try pause, resume and stop, and as a pause in a queue of scripts."""

    config_model = SleepConfig
    description = "Sleep for a while, a checkpoint per step."

    async def configure(self, config: Any) -> None:
        self.total_checkpoints = config.steps
        self.step_s = config.duration / config.steps

    def estimated_duration(self) -> float:
        return self.step_s * self.total_checkpoints

    async def run(self) -> None:
        for step in range(1, self.total_checkpoints + 1):
            await asyncio.sleep(self.step_s)
            await self.checkpoint(f"step {step}", f"slept {step}/{self.total_checkpoints}")
