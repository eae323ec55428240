"""TelemetryGateway CSC: reads the DM services through Remotes, republishes their figures.

While ENABLED it follows PromptProcessing (visitProcessed, visitLate, processingStatus),
the Archiver (archiveStatus), the camera (endReadout) and every service's summaryState, and
writes its four telemetry topics every `interval_s`, whether or not anything changed.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import Field

from dmcs.csc.configurable_csc import ConfigurableCsc
from dmcs.csc.listen_and_report import ListenAndReport
from dmcs.sal.interface import Interface
from dmcs.sal.interfaces import (
    ARCHIVER,
    DMCS,
    MT_CAMERA,
    MT_HEADER_SERVICE,
    OCPS,
    PROMPT_PROCESSING,
    SCRIPT_QUEUE,
    TELEMETRY_GATEWAY,
)
from dmcs.sal.remote import Remote
from dmcs.services.telemetry_gateway.figures import GatewayFigures
from dmcs.state_machines.summary_state import State
from dmcs.validation import StrictModel


class TelemetryGatewayConfig(StrictModel):
    interval_s: float = Field(1.0, gt=0)
    ocps_index: int = Field(1, ge=0)
    script_queue_index: int = Field(1, ge=0)


class TelemetryGatewayCsc(ConfigurableCsc):
    """DM status and quality figures for the OCS (see the module docstring)."""

    interface = TELEMETRY_GATEWAY
    config_model = TelemetryGatewayConfig

    figures: GatewayFigures | None = None
    _listening: ListenAndReport | None = None

    async def configure(self, config: TelemetryGatewayConfig) -> None:
        self.config = config

    async def handle_summary_state(self) -> None:
        if self.summary_state == State.ENABLED and self._listening is None:
            await self._begin()
        elif self.summary_state != State.ENABLED and self._listening is not None:
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
        remotes = []
        handlers = {
            "archiveStatus": figures.on_archive_status,
            "visitProcessed": figures.on_visit_processed,
            "visitLate": figures.on_visit_late,
            "processingStatus": figures.on_processing_status,
            "endReadout": figures.on_end_readout,
        }
        for interface, index, topics in self._sources(self.config):
            remote = Remote(self.domain, interface, index, include=["summaryState", *topics],
                            listen_only=True)
            remote.evt("summaryState").callback = functools.partial(
                _record_state, figures, interface.name
            )
            for topic in topics:
                kind = remote.tel if topic in interface.telemetry else remote.evt
                kind(topic).callback = handlers[topic]
            remotes.append(remote)
        self._listening = ListenAndReport(self.log, remotes, self._publish, self.config.interval_s)

    async def _end(self) -> None:
        assert self._listening is not None
        listening, self._listening = self._listening, None
        await listening.stop()

    async def close(self) -> None:
        if self._listening is not None:
            await self._end()
        await super().close()

    async def _publish(self) -> None:
        assert self.figures is not None
        for topic, fields in self.figures.telemetry().items():
            await self.controller.tel(topic).set_write(**fields)


def _record_state(figures: GatewayFigures, component: str, sample: Any) -> None:
    figures.on_summary_state(component, sample.summaryState)
