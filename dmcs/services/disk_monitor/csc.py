"""The DiskMonitor CSC: publishes free space every `period` seconds while ENABLED."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import Field

from dmcs.csc.configurable_csc import ConfigurableCsc
from dmcs.sal.interfaces import DISK_MONITOR
from dmcs.sal.topics.controller_command import ExpectedError
from dmcs.services.disk_monitor.space import measure
from dmcs.state_machines.summary_state import State
from dmcs.validation import StrictModel


class DiskMonitorConfig(StrictModel):
    """What to watch and when to warn."""

    path: str = "/"
    threshold_gb: float = Field(10.0, ge=0)
    period: float = Field(1.0, gt=0, le=3600)


class DiskMonitorCsc(ConfigurableCsc):
    """Warns before a data disk fills up."""

    interface = DISK_MONITOR
    config_model = DiskMonitorConfig

    threshold_gb = 0.0
    _task: asyncio.Task[None] | None = None

    async def configure(self, config: DiskMonitorConfig) -> None:
        if not Path(config.path).is_dir():
            raise ExpectedError(f"path {config.path!r} is not a directory")
        self.threshold_gb = config.threshold_gb

    async def handle_summary_state(self) -> None:
        if self.summary_state == State.ENABLED and self._task is None:
            self._task = asyncio.create_task(self._watch())
        elif self.summary_state != State.ENABLED and self._task is not None:
            self._task.cancel()
            self._task = None

    async def do_setThreshold(self, data: Any) -> str:
        if data.thresholdGB < 0:
            raise ExpectedError(f"thresholdGB must be >= 0, got {data.thresholdGB}")
        self.threshold_gb = data.thresholdGB
        return f"warning below {self.threshold_gb:.1f} GB"

    async def _watch(self) -> None:
        config = self.config
        assert isinstance(config, DiskMonitorConfig)
        low: bool | None = None
        while True:
            try:
                space = await asyncio.to_thread(measure, config.path)
            except OSError as err:
                await self.fault(1, f"cannot read {config.path}: {err}")
                return
            await self.controller.tel("diskSpace").set_write(
                path=config.path, freeGB=space.free_gb, totalGB=space.total_gb)
            is_low = space.free_gb < self.threshold_gb
            if is_low != low:
                low = is_low
                await self.controller.evt("lowSpace").set_write(
                    path=config.path, low=is_low, freeGB=space.free_gb,
                    thresholdGB=self.threshold_gb)
            await asyncio.sleep(config.period)
