"""The daytime OCPS jobs: the calibration update, and the catch-up of the night's late visits.

Jobs are submitted with ``execute``; each is known by the ``job_id`` event answering our
command (matched by sequence number) and ends with ``job_result``. A job that must wait for
others names them in ``after`` and is submitted with their ids as ``prereq_jobs`` (the OCPS
holds it until they succeed; an execute not taken within ``submit_timeout``, prerequisite
wait included, fails the daytime run naming the job). The catch-up job covers every late
visit at once (its data query is ``catch_up_query`` with ``{visits}`` replaced by their
numbers), with the alerted visits that have CCDs left over (late or failed, each caught up
on its own); when it succeeds those visits, or their CCDs, are caught up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from dmcs.sal.ack import AckError
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import OCPS
from dmcs.sal.remote import Remote
from dmcs.services.dmcs.visit_book import VisitBook
from dmcs.validation import StrictModel

log = logging.getLogger(__name__)

CATCH_UP = "catch-up"
CALIBRATION_UPDATE = "calibration update"


class DaytimeJobConfig(StrictModel):
    """One daytime job: which pipeline, on what, after which other pipelines."""

    pipeline: str
    version: str = ""
    config: str = ""
    data_query: str = ""
    after: list[str] = []


def _default_calibration_jobs() -> list[DaytimeJobConfig]:
    return [
        DaytimeJobConfig(pipeline="calib-bias"),
        DaytimeJobConfig(pipeline="calib-dark", after=["calib-bias"]),
        DaytimeJobConfig(pipeline="calib-flat", after=["calib-bias", "calib-dark"]),
    ]


class DaytimeConfig(StrictModel):
    """The daytime jobs' part of the DMCS configuration (declared here, where it is used)."""

    ocps_index: int = Field(1, ge=1)
    calibration_jobs: list[DaytimeJobConfig] = Field(default_factory=_default_calibration_jobs)
    catch_up_job: DaytimeJobConfig = DaytimeJobConfig(pipeline="catch-up-late")
    catch_up_query: str = Field("visit={visits}", description="Data query of the catch-up "
                                "job; {visits} is the late visits' numbers, comma-separated.")
    job_timeout: float = Field(1800.0, gt=0)
    submit_timeout: float = Field(600.0, gt=0, description="Seconds for the OCPS to take a "
                                  "job, waiting for its prerequisites included.")


@dataclass
class JobOutcome:
    """A submitted job and how it ended (exit_code None: still running when we gave up)."""

    job_id: str
    pipeline: str
    purpose: str
    exit_code: int | None = None
    result: str = ""
    visits: tuple[str, ...] = ()


JobListener = Callable[[JobOutcome], Awaitable[None]]


class DaytimeError(RuntimeError):
    """A daytime job could not be submitted; the text says which and why."""


class Daytime:
    """Submits the daytime jobs to one OCPS and follows them to their results."""

    def __init__(
        self, domain: Domain, book: VisitBook, config: DaytimeConfig, *, on_job: JobListener
    ) -> None:
        self.domain = domain
        self.book = book
        self.config = config
        self.on_job = on_job
        self._job_ids: dict[int, str] = {}
        self._results: dict[str, Any] = {}
        self._arrived = asyncio.Event()

    async def run(self, *, calibrations: bool, catch_up: bool) -> list[JobOutcome]:
        """Submit the jobs asked for, wait for every result, mark caught-up visits."""
        async with Remote(
            self.domain, OCPS, self.config.ocps_index, include=["job_id", "job_result"]
        ) as ocps:
            ocps.evt("job_id").callback = self._on_job_id
            ocps.evt("job_result").callback = self._on_job_result
            outcomes: list[JobOutcome] = []
            by_pipeline: dict[str, str] = {}
            if calibrations:
                for job in self.config.calibration_jobs:
                    prereqs = [by_pipeline[p] for p in job.after if p in by_pipeline]
                    outcome = await self._submit(
                        ocps, job, CALIBRATION_UPDATE, job.data_query, prereqs, ()
                    )
                    by_pipeline[job.pipeline] = outcome.job_id
                    outcomes.append(outcome)
            late = [r for r in self.book.catch_up_visits() if r.visit]
            if catch_up and late:
                numbers = ",".join(str(r.visit) for r in late)
                query = self.config.catch_up_query.format(visits=numbers)
                outcome = await self._submit(ocps, self.config.catch_up_job, CATCH_UP, query, [],
                                             tuple(r.groupId for r in late))
                for record in late:
                    self.book.catching_up(record.groupId, outcome.job_id)
                outcomes.append(outcome)
            await asyncio.gather(*(self._follow(o) for o in outcomes))
        return outcomes

    async def _submit(
        self,
        ocps: Remote,
        job: DaytimeJobConfig,
        purpose: str,
        query: str,
        prereqs: list[str],
        visits: tuple[str, ...],
    ) -> JobOutcome:
        log.info("submitting %s (%s) query %r after %s", job.pipeline, purpose, query, prereqs)
        try:
            async with asyncio.timeout(self.config.submit_timeout):
                ack = await ocps.cmd("execute").start(
                    pipeline=job.pipeline, version=job.version, config=job.config,
                    data_query=query, prereq_jobs=",".join(prereqs), output_dataset_types="",
                    timeout=self.config.submit_timeout)
                job_id = await self._wait_for(lambda: self._job_ids.get(ack.private_seqNum),
                                              self.config.submit_timeout)
        except TimeoutError:
            raise DaytimeError(f"OCPS did not take {job.pipeline} ({purpose}) within "
                               f"{self.config.submit_timeout:g} s") from None
        except AckError as err:
            raise DaytimeError(f"OCPS refused {job.pipeline} ({purpose}): {err}") from None
        outcome = JobOutcome(job_id, job.pipeline, purpose, visits=visits)
        log.info("%s is job %s", job.pipeline, job_id)
        await self.on_job(outcome)
        return outcome

    async def _follow(self, outcome: JobOutcome) -> None:
        try:
            result = await self._wait_for(
                lambda: self._results.get(outcome.job_id), self.config.job_timeout
            )
        except TimeoutError:
            outcome.result = f"no job_result within {self.config.job_timeout:g} s"
        else:
            outcome.exit_code = int(result.exit_code)
            log.info(
                "job %s (%s) ended with %d", outcome.job_id, outcome.pipeline, outcome.exit_code
            )
            outcome.result = result.result
            if outcome.exit_code == 0:
                for group in outcome.visits:
                    self.book.caught_up(group)
        await self.on_job(outcome)

    async def _wait_for(self, probe: Callable[[], Any], timeout: float) -> Any:
        async with asyncio.timeout(timeout):
            while (found := probe()) is None:
                self._arrived.clear()
                await self._arrived.wait()
        return found

    def _on_job_id(self, data: Any) -> None:
        if data.event_name == "cmd_execute":
            self._job_ids[data.seq_num] = data.job_id
            self._arrived.set()

    def _on_job_result(self, data: Any) -> None:
        self._results[data.job_id] = data
        self._arrived.set()
