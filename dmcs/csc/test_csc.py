"""TestCsc: the Test interface, for tests, benchmarks and the live demo."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pydantic import Field

from dmcs.csc.configurable_csc import ConfigurableCsc
from dmcs.sal.ack import AckCode
from dmcs.sal.interfaces import TEST
from dmcs.sal.topics.controller_command import ExpectedError
from dmcs.state_machines.summary_state import State
from dmcs.validation import StrictModel


class TestConfig(StrictModel):
    """Test CSC configuration."""

    string0: str = "default"
    wait_progress_interval: float = Field(0.5, gt=0, le=60)


class TestCsc(ConfigurableCsc):
    """Echoes commands into events and telemetry; `fault` and `wait` exercise the hard paths.

    As ts_salobj's TestCsc: `fault` goes to FAULT with error code :attr:`FAULT_CODE`;
    `wait` takes `duration` seconds (reporting progress, abortable) and then ends with the
    ack it was given: COMPLETE for 0 or CMD_COMPLETE (303), else FAILED saying which.
    """

    __test__ = False
    #: The errorCode the `fault` command reports.
    FAULT_CODE = 1
    interface = TEST
    config_model = TestConfig
    valid_simulation_modes = (0, 1)

    async def do_setScalars(self, data: Any) -> None:
        self.assert_enabled("setScalars")
        await self._echo("scalars", data, TEST.telemetry["scalars"].user_fields())

    async def do_setArrays(self, data: Any) -> None:
        self.assert_enabled("setArrays")
        await self._echo("arrays", data, TEST.telemetry["arrays"].user_fields())

    async def _echo(self, topic: str, data: Any, fields: list[str]) -> None:
        values = {name: getattr(data, name) for name in fields}
        await self.controller.evt(topic).set_write(**values)
        await self.controller.tel(topic).set_write(**values)

    async def do_fault(self, data: Any) -> str:
        self.assert_enabled("fault")
        await self.fault(self.FAULT_CODE, "fault commanded")
        return "FAULT"

    async def do_wait(self, data: Any) -> str:
        """Wait `duration` seconds, reporting progress, then end with `ack`; abort cancels it."""
        self.assert_enabled("wait")
        if data.duration < 0:
            raise ExpectedError(f"duration must be >= 0, got {data.duration}")
        assert isinstance(self.config, TestConfig)
        interval = self.config.wait_progress_interval
        start = time.monotonic()
        await self.controller.ack_in_progress(data, data.duration + interval + 1,
                                              f"waiting {data.duration:.1f} s")
        while (elapsed := time.monotonic() - start) < data.duration:
            await asyncio.sleep(min(interval, data.duration - elapsed))
            done = min(time.monotonic() - start, data.duration)
            await self.controller.ack_in_progress(
                data, data.duration - done + interval + 1,
                f"{100 * done / data.duration:.0f}% ({done:.1f}/{data.duration:.1f} s)"
                if data.duration else "100%",
            )
        if data.ack not in (0, AckCode.COMPLETE):
            raise ExpectedError(f"waited {data.duration:.1f} s; ack {data.ack} was asked for")
        return f"waited {data.duration:.1f} s"

    async def handle_summary_state(self) -> None:
        if self.summary_state == State.STANDBY:
            self.config = None
