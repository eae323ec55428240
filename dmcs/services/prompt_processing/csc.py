"""PromptProcessing CSC: maps nextVisit, endReadout and cancelVisit onto the service logic.

While ENABLED it keeps the warm rank pool up, listens to the ScriptQueue's `nextVisit` and
the camera's `endReadout`, and publishes `processingStatus` every `status_interval_s`.
Leaving ENABLED cancels visits in flight (they go late) and stops the ranks.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from dmcs.csc.configurable_csc import ConfigurableCsc
from dmcs.csc.listen_and_report import ListenAndReport
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import MT_CAMERA, PROMPT_PROCESSING, SCRIPT_QUEUE
from dmcs.sal.remote import Remote
from dmcs.sal.topics.controller_command import ExpectedError
from dmcs.services.prompt_processing.settings import PromptProcessingConfig
from dmcs.state_machines.summary_state import State

if TYPE_CHECKING:
    from dmcs.services.prompt_processing.service import PromptProcessingService

SCRIPT_QUEUE_INDEX = 1
POOL_START_FAULT = 10
#: How long `enable` may take, said in its INPROGRESS ack: the science stack's import and the
#: rank pool's start (each rank imports it too; the pool gives up after 60 s), on a busy host.
ENABLE_TIMEOUT_S = 90.0


class PromptProcessingCsc(ConfigurableCsc):
    """Alert production for each visit as it is read out (see dmcs.services.prompt_processing)."""

    interface = PROMPT_PROCESSING
    config_model = PromptProcessingConfig

    service: PromptProcessingService | None = None
    _listening: ListenAndReport | None = None

    async def configure(self, config: PromptProcessingConfig) -> None:
        try:
            config.payload_config()
        except ValueError as error:
            raise ExpectedError(f"payload configuration: {error}") from None
        self.config = config

    async def begin_enable(self, data: Any) -> None:
        """Enabling starts the rank pool (seconds; more on a busy host): callers are told to
        wait for it, as salobj's long commands do, rather than give up at their default."""
        await self.controller.ack_in_progress(data, ENABLE_TIMEOUT_S, "starting the rank pool")

    async def handle_summary_state(self) -> None:
        if self.summary_state == State.ENABLED and self.service is None:
            await self._begin()
        elif self.summary_state != State.ENABLED and self.service is not None:
            await self._end()

    async def _begin(self) -> None:
        assert isinstance(self.config, PromptProcessingConfig)
        # In a thread: the science stack's first import takes seconds, heartbeats go on.
        service = await asyncio.to_thread(_build_service, self.config, self._publish, self.domain)
        from dmcs.services.prompt_processing.rank_pool import PoolError

        try:
            await service.start()
        except PoolError as error:
            await self.fault(POOL_START_FAULT, f"rank pool did not start: {error}")
            return
        self.service = service
        queue = Remote(self.domain, SCRIPT_QUEUE, SCRIPT_QUEUE_INDEX, include=["nextVisit"],
                       listen_only=True)
        camera = Remote(self.domain, MT_CAMERA, include=["endReadout"], listen_only=True)
        queue.evt("nextVisit").callback = service.next_visit
        camera.evt("endReadout").callback = service.end_readout
        self._listening = ListenAndReport(self.log, [queue, camera], self._report_status,
                                    self.config.status_interval_s)

    async def _end(self) -> None:
        """Stop reporting and listening, then the service; no step may hang a disable."""
        if self._listening is not None:
            listening, self._listening = self._listening, None
            await listening.stop()
        assert self.service is not None
        service, self.service = self.service, None
        await service.stop()

    async def close(self) -> None:
        if self.service is not None:
            await self._end()
        await super().close()

    async def _publish(self, event: str, **fields: Any) -> None:
        await self.controller.evt(event).set_write(**fields)

    async def _report_status(self) -> None:
        assert self.service is not None
        status = await asyncio.to_thread(self.service.status)
        await self.controller.tel("processingStatus").set_write(**asdict(status))

    async def do_cancelVisit(self, data: Any) -> str:
        self.assert_enabled("cancelVisit")
        assert self.service is not None
        try:
            return await self.service.cancel_visit(data.groupId, data.reason)
        except ValueError as error:
            raise ExpectedError(f"cancelVisit: {error}") from None


def _build_service(
    config: PromptProcessingConfig, publish: Any, domain: Domain
) -> PromptProcessingService:
    from dmcs.services.prompt_processing.alert_stream import AlertStream
    from dmcs.services.prompt_processing.service import PromptProcessingService

    stream = AlertStream(domain, config.alert_topic, config.alert_partitions)
    return PromptProcessingService(config, publish, stream)
