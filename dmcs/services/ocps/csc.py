"""OCPS CSC (indexed, as in ts_xml): maps execute and abort_job onto the batch logic."""

from __future__ import annotations

from typing import Any

from dmcs.csc.configurable_csc import ConfigurableCsc
from dmcs.sal.interfaces import OCPS
from dmcs.sal.topics.controller_command import ExpectedError
from dmcs.services.ocps.batch import OcpsConfig, OcpsService, RequestRefusedError
from dmcs.state_machines.summary_state import State

EVENT_NAME = "cmd_execute"


class OcpsCsc(ConfigurableCsc):
    """OCS-driven batch processing: each execute is an MPI job on the job manager."""

    interface = OCPS
    config_model = OcpsConfig

    service: OcpsService | None = None

    async def configure(self, config: OcpsConfig) -> None:
        if config.launcher == "hostfile" and not config.hostfile:
            raise ExpectedError("configuration: launcher 'hostfile' needs a hostfile")
        if self.service is not None:
            await self.service.close()
        stream = {
            "bootstrap_servers": self.domain.bootstrap_servers or "",
            "subname": self.domain.subname,
            "schema_registry_url": self.domain.registry_url,
            "broker_kind": self.domain.profile.kind,
        }
        self.service = OcpsService(config, self._publish, self.identity, stream)

    async def handle_summary_state(self) -> None:
        if self.summary_state in (State.STANDBY, State.FAULT) and self.service is not None:
            await self.service.close()
            self.service = None

    async def close(self) -> None:
        if self.service is not None:
            await self.service.close()
        await super().close()

    async def _publish(self, event: str, **fields: Any) -> None:
        await self.controller.evt(event).set_write(**fields)

    async def do_execute(self, data: Any) -> str:
        self.assert_enabled("execute")
        assert self.service is not None
        await self.controller.ack_in_progress(
            data, self.service.config.prerequisite_wait_s + 60, "checking prerequisites"
        )
        try:
            job_id = await self.service.execute(
                data.pipeline,
                data.version,
                data.config,
                data.data_query,
                data.prereq_jobs,
                data.output_dataset_types,
            )
        except RequestRefusedError as error:
            raise ExpectedError(f"execute: {error}") from None
        await self._publish(
            "job_id", event_name=EVENT_NAME, seq_num=data.private_seqNum, job_id=job_id
        )
        return job_id

    async def do_abort_job(self, data: Any) -> str:
        self.assert_enabled("abort_job")
        assert self.service is not None
        try:
            return await self.service.abort(data.job_id)
        except RequestRefusedError as error:
            raise ExpectedError(f"abort_job: {error}") from None
