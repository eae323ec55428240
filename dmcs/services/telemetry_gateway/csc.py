"""TelemetryGateway CSC: reads the DM services through Remotes, republishes their figures.

While ENABLED it follows PromptProcessing (visitProcessed, visitLate, processingStatus),
the Archiver (archiveStatus), the camera (endReadout) and every service's summaryState, and
writes its four telemetry topics every `interval_s`, whether or not anything changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dmcs.csc.configurable_csc import ConfigurableCsc
from dmcs.sal.interface import Interface
from dmcs.sal.interfaces.archiver import ARCHIVER
from dmcs.sal.interfaces.camera import MT_CAMERA
from dmcs.sal.interfaces.dmcs import DMCS
from dmcs.sal.interfaces.header_service import MT_HEADER_SERVICE
from dmcs.sal.interfaces.ocps import OCPS
from dmcs.sal.interfaces.prompt_processing import PROMPT_PROCESSING
from dmcs.sal.interfaces.script_queue import SCRIPT_QUEUE
from dmcs.sal.interfaces.telemetry_gateway import TELEMETRY_GATEWAY
from dmcs.sal.remote import Remote
from dmcs.services.telemetry_gateway.figures import GatewayFigures
from dmcs.state_machines.summary_state import State


class TelemetryGatewayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    interval_s: float = Field(1.0, gt=0)
    ocps_index: int = Field(1, ge=0)
    script_queue_index: int = Field(1, ge=0)


class TelemetryGatewayCsc(ConfigurableCsc):
    """DM status and quality figures for the OCS (see the module docstring)."""

    interface = TELEMETRY_GATEWAY
    config_model = TelemetryGatewayConfig

    figures: GatewayFigures | None = None
    _remotes: list[Remote] = []
    _started: list[Remote] = []
    _publisher: asyncio.Task[None] | None = None

    async def configure(self, config: TelemetryGatewayConfig) -> None:
        self.config = config

    async def handle_summary_state(self) -> None:
        if self.summary_state == State.ENABLED and self._publisher is None:
            await self._begin()
        elif self.summary_state != State.ENABLED and self._publisher is not None:
            await self._end()

    def _sources(self, config: TelemetryGatewayConfig) -> list[tuple[Interface, int, list[str]]]:
        """Each component read: its index and the topics beside summaryState."""
        return [
            (DMCS, 0, []),
            (ARCHIVER, 0, ["archiveStatus"]),
            (PROMPT_PROCESSING, 0, ["visitProcessed", "visitLate", "processingStatus"]),
            (OCPS, config.ocps_index, []),
            (MT_CAMERA, 0, ["endReadout"]),
            (MT_HEADER_SERVICE, 0, []),
            (SCRIPT_QUEUE, config.script_queue_index, []),
        ]

    async def _begin(self) -> None:
        assert isinstance(self.config, TelemetryGatewayConfig)
        figures = self.figures = GatewayFigures()
        self._remotes = []
        handlers = {
            "archiveStatus": figures.on_archive_status,
            "visitProcessed": figures.on_visit_processed,
            "visitLate": figures.on_visit_late,
            "processingStatus": figures.on_processing_status,
            "endReadout": figures.on_end_readout,
        }
        for interface, index, topics in self._sources(self.config):
            remote = Remote(self.domain, interface, index, include=["summaryState", *topics])
            remote.evt("summaryState").callback = functools.partial(
                _record_state, figures, interface.name
            )
            for topic in topics:
                kind = remote.tel if topic in interface.telemetry else remote.evt
                kind(topic).callback = handlers[topic]
            self._remotes.append(remote)
        self._publisher = asyncio.create_task(self._publish(self.config.interval_s))

    async def _end(self) -> None:
        assert self._publisher is not None
        self._publisher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._publisher
        self._publisher = None
        for remote in self._started:
            await remote.close()
        self._remotes, self._started = [], []

    async def close(self) -> None:
        if self._publisher is not None:
            await self._end()
        await super().close()

    async def _publish(self, interval_s: float) -> None:
        """Start listening (creating seven components' topics takes seconds: not inside
        `enable`; what was published meanwhile is read as history), then publish steadily."""
        assert self.figures is not None
        self._started = []
        for remote in self._remotes:
            await remote.start()
            self._started.append(remote)  # a start cancelled midway is not closed: it may hang
        while True:
            for topic, fields in self.figures.telemetry().items():
                await self.controller.tel(topic).set_write(**fields)
            await asyncio.sleep(interval_s)


def _record_state(figures: GatewayFigures, component: str, sample: Any) -> None:
    figures.on_summary_state(component, sample.summaryState)
