"""OCPS as plain Python: execute -> prerequisites -> MPI job on the job manager -> job_result.

Jobs go into the same job store as `dmcs batch`, so `dmcs batch list/show/cancel` see them;
the OCPS version string and the requester are recorded in each job's provenance. A job's
prerequisites must exist when `execute` arrives (else it is refused naming them); running
ones are waited for, and one that did not succeed refuses the job. After submission, the
job is followed in the background and its end published as `job_result(job_id, exit_code,
result)` with a JSON result (status, summary, error, failed items).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from dmcs import metrics
from dmcs.mpi.job_store import JobRecord, JobStatus, UnknownJobError
from dmcs.mpi.jobs import JobManager, JobRequestError
from dmcs.mpi.launch_command import Launcher, LaunchSettings
from dmcs.mpi.registry import UnknownPipelineError, pipeline_class
from dmcs.services.ocps.request import parse_config, parse_job_ids
from dmcs.validation import StrictModel

Publish = Callable[..., Awaitable[None]]
EXIT_NOT_RUN = -1


class OcpsConfig(StrictModel):
    """How jobs are launched, and per-pipeline config defaults (site paths, sizes)."""

    job_store: Path | None = Field(None, description="default: the batch CLI's store")
    ranks: int = Field(2, ge=1)
    timeout_s: float | None = Field(None, gt=0)
    launcher: Literal["mpiexec", "hostfile", "srun"] = "mpiexec"
    hostfile: str | None = None
    prerequisite_wait_s: float = Field(3600.0, gt=0)
    pipeline_defaults: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def launch_settings(self) -> LaunchSettings:
        return LaunchSettings(launcher=Launcher(self.launcher), hostfile=self.hostfile)


class RequestRefusedError(ValueError):
    """An execute or abort_job that cannot be carried out; the text says why."""


class OcpsService:
    """See the module docstring."""

    def __init__(
        self,
        config: OcpsConfig,
        publish: Publish,
        identity: str,
        alert_stream: dict[str, str] | None = None,
    ) -> None:
        """`alert_stream` (bootstrap_servers, subname) goes to pipelines that send alerts."""
        self.config = config
        self.alert_stream = alert_stream
        self.manager = JobManager(config.job_store)
        self.publish = publish
        self.identity = identity
        self._followers: dict[str, asyncio.Task[None]] = {}
        self._log = logging.getLogger("dmcs.ocps")

    def check_pipeline(self, pipeline: str) -> type:
        try:
            return pipeline_class(pipeline)
        except UnknownPipelineError as error:
            raise RequestRefusedError(str(error)) from None

    async def check_prerequisites(self, job_ids: list[str]) -> None:
        """Refuse unknown prerequisites at once; wait for running ones; refuse failed ones."""
        records: list[JobRecord] = []
        for job_id in job_ids:
            try:
                records.append(await asyncio.to_thread(self.manager.get, job_id))
            except UnknownJobError:
                raise RequestRefusedError(f"prerequisite job {job_id!r} does not exist") from None
        for record in records:
            try:
                ended = await self.manager.wait(record.job_id, self.config.prerequisite_wait_s)
            except TimeoutError as error:
                raise RequestRefusedError(f"prerequisite {error}") from None
            if ended.status is not JobStatus.SUCCEEDED:
                raise RequestRefusedError(
                    f"prerequisite job {record.job_id} ended {ended.status}"
                    + (f": {ended.error}" if ended.error else "")
                )

    async def execute(
        self,
        pipeline: str,
        version: str,
        config: str,
        data_query: str,
        prereq_jobs: str,
        output_dataset_types: str,
    ) -> str:
        """Submit the job (after its prerequisites); its id. RequestRefusedError says why not."""
        cls = await asyncio.to_thread(self.check_pipeline, pipeline)  # heavy first import
        try:
            job_config = {**self.config.pipeline_defaults.get(pipeline, {}), **parse_config(config)}
        except ValueError as error:
            raise RequestRefusedError(str(error)) from None
        if getattr(cls, "sends_alerts", False) and self.alert_stream is not None:
            job_config.setdefault("alert_stream", self.alert_stream)
        prerequisites = parse_job_ids(prereq_jobs)
        await self.check_prerequisites(prerequisites)
        provenance = {
            "requested_by": self.identity,
            "pipeline_version": version,
            "prereq_jobs": prerequisites,
            "output_dataset_types": output_dataset_types,
        }
        try:
            job_id = await self.manager.submit(
                pipeline,
                data_query=data_query,
                config=job_config,
                ranks=self.config.ranks,
                timeout_s=self.config.timeout_s,
                launch=self.config.launch_settings(),
                provenance=provenance,
            )
        except (JobRequestError, ValueError) as error:
            raise RequestRefusedError(str(error)) from None
        self._followers[job_id] = asyncio.create_task(self._follow(job_id))
        return job_id

    async def _follow(self, job_id: str) -> None:
        try:
            record = await self.manager.wait(job_id)
            exit_code = record.exit_code if record.exit_code is not None else EXIT_NOT_RUN
            failed = len(record.failed_items)
            metrics.MPI_ITEMS.labels(record.pipeline, "failed").inc(failed)
            metrics.MPI_ITEMS.labels(record.pipeline, "done").inc(len(record.items) - failed)
            await self.publish(
                "job_result",
                job_id=job_id,
                exit_code=exit_code,
                result=json.dumps(job_result(record)),
            )
        finally:
            self._followers.pop(job_id, None)

    async def abort(self, job_id: str) -> str:
        try:
            record = await asyncio.to_thread(self.manager.get, job_id)
        except UnknownJobError:
            raise RequestRefusedError(f"unknown job id {job_id!r}") from None
        if record.status.is_terminal:
            raise RequestRefusedError(f"job {job_id} already ended ({record.status})")
        ended = await self.manager.cancel(job_id)
        return f"job {job_id} {ended.status}"

    async def close(self) -> None:
        """Stop following jobs (they keep running under their supervisors)."""
        for task in list(self._followers.values()):
            task.cancel()
        await asyncio.gather(*self._followers.values(), return_exceptions=True)


def job_result(record: JobRecord) -> dict[str, Any]:
    """What job_result.result carries, as JSON."""
    return {
        "status": str(record.status),
        "pipeline": record.pipeline,
        "version": record.provenance.get("pipeline_version", ""),
        "items": len(record.items),
        "failed_items": record.failed_items,
        "summary": record.summary,
        "error": record.error,
        "job_dir": str(record.job_dir),
    }
