"""Prompt processing as plain Python: nextVisit -> preload; readout -> CCDs on the pool -> alerts.

The CSC feeds it ScriptQueue `nextVisit` and camera `endReadout` samples and publishes what
it reports through `publish(event_name, **fields)`; a test can drive it directly.

A science visit (groupId ``<dayobs>_science_<n>``) is preloaded on every rank when announced
and processed when its last snap is read out: one pool item per CCD, within `deadline_s` of
the end of readout. Then, and only if the ledger lets it move the visit from PROCESSING to
ALERTING, its DIASources are associated into the APDB and its alerts sent to the stream.
A failed CCD, a lost deadline or `cancelVisit` instead moves it to LATE (visitLate) for the
daytime catch-up; see `visit_ledger` for why no visit can produce alerts twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dmcs import metrics
from dmcs.mpi.launch_command import Launcher, LaunchSettings
from dmcs.payloads.association.alert_production import AlertProductionPipeline
from dmcs.payloads.data_query import visit_detector_item
from dmcs.sal.tai import current_tai
from dmcs.services.prompt_processing.alert_stream import AlertStream
from dmcs.services.prompt_processing.ccd_pipeline import PromptVisitPipeline, ccd_item, preload_item
from dmcs.services.prompt_processing.rank_pool import PoolError, RankPool
from dmcs.services.prompt_processing.settings import PromptProcessingConfig
from dmcs.services.prompt_processing.visit_ledger import VisitLedger, VisitState
from dmcs.sims.daq_store import DaqStore
from dmcs.sims.visit_plan import SCIENCE, parse_group_id, parse_next_visit

Publish = Callable[..., Awaitable[None]]
LEDGER_FILE = "visits.sqlite"


@dataclass
class _Visit:
    group_id: str
    visit: int
    end_of_readout: float = 0.0
    task: asyncio.Task[None] | None = None


@dataclass(frozen=True)
class ProcessingStatus:
    queue: int
    workersAlive: int
    workersBusy: int
    visitsProcessed: int
    visitsLate: int
    alertsSent: int
    lastLatency: float


class VisitRefusedError(ValueError):
    """A nextVisit or readout this service will not process; the text says why."""


class PromptProcessingService:
    """See the module docstring."""

    def __init__(self, config: PromptProcessingConfig, publish: Publish, stream: AlertStream):
        self.config = config
        self.payload = config.payload_config()
        self.detectors = list(self.payload.detectors)
        self.work_dir = config.resolved_work_dir()
        self.daq = DaqStore(config.resolved_daq_root())
        self.ledger = VisitLedger(self.work_dir / LEDGER_FILE)
        self.publish = publish
        self.stream = stream
        self.pool: RankPool | None = None
        self._associator = AlertProductionPipeline(
            self.payload.model_dump(mode="json", exclude_none=True), self.work_dir / "outputs"
        )
        self._visits: dict[str, _Visit] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._alerts_sent = 0
        self._last_latency = 0.0
        self._log = logging.getLogger("dmcs.prompt_processing")

    def pool_config(self) -> dict[str, Any]:
        return {
            **self.payload.model_dump(mode="json", exclude_none=True),
            "daq_root": str(self.config.resolved_daq_root()),
        }

    async def start(self) -> None:
        """Set up the alert stream, then launch the warm pool (every rank loads its pipeline
        once)."""
        await self.stream.start()
        launch = LaunchSettings(
            launcher=Launcher(self.config.launcher), hostfile=self.config.hostfile
        )
        self.pool = RankPool(
            pipeline=PromptVisitPipeline.name,
            config=self.pool_config(),
            ranks=self.config.ranks,
            work_dir=self.work_dir,
            heartbeat_s=self.config.heartbeat_s,
            launch=launch,
            listen_host=self.config.listen_host,
            on_worker=self._on_worker,
        )
        await self.pool.start()

    async def stop(self) -> None:
        """Cancel visits in flight (they go late) and stop the pool."""
        for visit in list(self._visits.values()):
            if visit.task is not None:
                visit.task.cancel()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(
            *(v.task for v in self._visits.values() if v.task is not None),
            *self._background,
            return_exceptions=True,
        )
        self._visits.clear()
        if self.pool is not None:
            await self.pool.close()
            self.pool = None
        await self.stream.close()

    # --- announcements -------------------------------------------------------------------

    def check_next_visit(self, sample: Any) -> int | None:
        """The visit number to preload; None for a group that is not ours to process."""
        try:
            kind, number = parse_next_visit(sample.groupId, sample.nimages)
        except ValueError as error:
            raise VisitRefusedError(str(error)) from None
        if sample.instrument != self.config.instrument:
            raise VisitRefusedError(
                f"instrument {sample.instrument!r} is not {self.config.instrument!r}"
            )
        return number if kind == SCIENCE else None

    async def next_visit(self, sample: Any) -> None:
        """Record the visit and start preloading its detectors on every rank."""
        try:
            number = self.check_next_visit(sample)
        except VisitRefusedError as error:
            await self._refuse(sample.groupId, str(error))
            return
        if number is None:
            self._log.info("nextVisit %s: not a science visit; nothing to do", sample.groupId)
            return
        self.ledger.announce(sample.groupId, number, self.detectors)
        self._visits.setdefault(sample.groupId, _Visit(sample.groupId, number))
        self._spawn(self._preload(sample.groupId, number))

    async def _refuse(self, group_id: str, reason: str) -> None:
        self._log.warning("nextVisit %s refused: %s", group_id, reason)
        await self.publish("visitRefused", groupId=group_id, reason=reason)

    async def _preload(self, group_id: str, visit: int) -> None:
        assert self.pool is not None
        started = asyncio.get_running_loop().time()
        outcomes = await self.pool.run_everywhere(preload_item(visit, self.detectors))
        failed = [f"rank {r}: {o}" for r, o in outcomes.items() if isinstance(o, BaseException)]
        if failed:
            self._log.warning("preload of %s failed on %s", group_id, "; ".join(failed))
            return
        await self.publish(
            "visitPreloaded",
            groupId=group_id,
            detectors=",".join(self.detectors),
            duration=asyncio.get_running_loop().time() - started,
        )

    # --- readout -------------------------------------------------------------------------

    async def end_readout(self, sample: Any) -> None:
        """After the last snap of a science visit, process it (in the background)."""
        if sample.imageIndex < sample.imagesInSequence:
            return
        image = await asyncio.to_thread(self.daq.image, sample.imageName)
        try:
            _, kind, number = parse_group_id(image.group_id)
        except ValueError:
            return
        if kind != SCIENCE:
            return
        visit = self._visits.setdefault(image.group_id, _Visit(image.group_id, number))
        if visit.task is not None:
            return
        self.ledger.announce(image.group_id, number, self.detectors)
        visit.end_of_readout = sample.timestampEndOfReadout
        visit.task = asyncio.create_task(self._process(visit))

    async def _process(self, visit: _Visit) -> None:
        images = await asyncio.to_thread(self.daq.images, visit.group_id)
        names = [image.name for image in sorted(images, key=lambda image: image.snap)]
        held = set(images[-1].detectors) if images else set()
        detectors = [d for d in self.detectors if d in held]
        if not self.ledger.claim(
            visit.group_id, [VisitState.ANNOUNCED], VisitState.PROCESSING, images=names
        ):
            self._log.info("%s already %s; not processed again", visit.group_id, self._state(visit))
            return
        try:
            if not detectors:
                raise VisitRefusedError(f"none of {self.detectors} in the DAQ images {names}")
            deadline = visit.end_of_readout + self.config.deadline_s
            async with asyncio.timeout(max(0.0, deadline - current_tai())):
                results = await asyncio.gather(
                    *(self._run_ccd(visit.visit, d, names) for d in detectors)
                )
        except TimeoutError:
            await self._mark_late(visit, f"deadline of {self.config.deadline_s:g} s passed")
            return
        except asyncio.CancelledError:
            await self._mark_late(visit, "cancelled")
            raise
        except (PoolError, VisitRefusedError) as error:
            await self._mark_late(visit, f"failed: {error}")
            return
        finally:
            self._visits.pop(visit.group_id, None)
        await self._send_alerts(visit, dict(results))

    async def _run_ccd(self, visit: int, detector: str, images: list[str]) -> tuple[str, Any]:
        assert self.pool is not None
        result = await self.pool.run(ccd_item(visit, detector, images))
        return visit_detector_item(visit, detector), result

    async def _send_alerts(self, visit: _Visit, results: dict[str, dict[str, Any]]) -> None:
        if not self.ledger.claim(visit.group_id, [VisitState.PROCESSING], VisitState.ALERTING):
            self._log.warning(
                "%s: %s before its alerts; none sent", visit.group_id, self._state(visit)
            )
            return
        summary = await asyncio.to_thread(self._associator.finalize, results)
        sent = await self.stream.send_files([Path(p) for p in summary["alert_files"]])
        latency = current_tai() - visit.end_of_readout
        self.ledger.claim(
            visit.group_id, [VisitState.ALERTING], VisitState.ALERTED, alerts=sent, latency=latency
        )
        self._alerts_sent += sent
        self._last_latency = latency
        metrics.ALERTS.inc(sent)
        metrics.VISIT_LATENCY.observe(latency)
        metrics.VISITS.labels("alerted").inc()
        ccds = list(results.values())
        await self.publish(
            "visitProcessed",
            groupId=visit.group_id,
            visit=str(visit.visit),
            detectors=",".join(r["detector"] for r in ccds),
            alerts=sent,
            diaSources=sum(r["n_diasources"] for r in ccds),
            sources=sum(r["n_sources"] for r in ccds),
            seeing=statistics.median(r["psf_fwhm_arcsec"] for r in ccds),
            zeroPoint=statistics.median(r["zero_point"] for r in ccds),
            latency=latency,
            status="ok" if len(ccds) == len(self.detectors) else "partial",
        )

    async def _mark_late(self, visit: _Visit, reason: str) -> None:
        if self.ledger.claim(
            visit.group_id,
            [VisitState.ANNOUNCED, VisitState.PROCESSING],
            VisitState.LATE,
            reason=reason,
        ):
            self._log.warning("%s late: %s", visit.group_id, reason)
            metrics.VISITS.labels("late").inc()
            await self.publish(
                "visitLate", groupId=visit.group_id, visit=str(visit.visit), reason=reason
            )

    async def cancel_visit(self, group_id: str, reason: str) -> str:
        """Stop a visit now: it goes late. ValueError if it is not waiting or in progress."""
        record = self.ledger.get(group_id)
        if record is None:
            raise ValueError(f"unknown visit {group_id!r}")
        visit = self._visits.get(group_id)
        if visit is not None and visit.task is not None:
            visit.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await visit.task
            return f"{group_id} cancelled while processing"
        if record.state is not VisitState.ANNOUNCED:
            raise ValueError(f"visit {group_id} is {record.state}; only waiting or running visits")
        self._visits.pop(group_id, None)
        await self._mark_late(_Visit(group_id, record.visit), reason or "cancelled by command")
        return f"{group_id} cancelled before readout"

    # --- health --------------------------------------------------------------------------

    def _on_worker(self, rank: int, status: str, item: str, reason: str) -> None:
        fields = {"rank": rank, "status": status, "workItem": item, "reason": reason}
        self._spawn(self.publish("workerStatus", **fields))

    def status(self) -> ProcessingStatus:
        pool = self.pool.status() if self.pool is not None else None
        counts = self.ledger.counts()
        return ProcessingStatus(
            queue=pool.queued if pool else 0,
            workersAlive=pool.alive if pool else 0,
            workersBusy=pool.busy if pool else 0,
            visitsProcessed=counts.get(VisitState.ALERTED, 0),
            visitsLate=counts.get(VisitState.LATE, 0),
            alertsSent=self._alerts_sent,
            lastLatency=self._last_latency,
        )

    def _state(self, visit: _Visit) -> str:
        record = self.ledger.get(visit.group_id)
        return "unknown" if record is None else str(record.state)

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
