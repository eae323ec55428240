"""Prompt processing as plain Python: nextVisit -> preload; readout -> CCDs on the pool -> alerts.

The CSC feeds it ScriptQueue `nextVisit` and camera `endReadout` samples and publishes what
it reports through `publish(event_name, **fields)`; a test can drive it directly.

A CCD is the unit of work, as at the observatory (one worker per detector). Each detector is
pinned to one rank (round robin over the live ranks, so the pins move only when a rank is lost
or comes back), which alone preloads its calibrations and template when the visit is announced
— and only once no other visit is being processed, so a preload never runs inside another
visit's latency window. When the last snap is read out, every CCD goes to its rank; each one's
DIASources are associated and its alerts sent as soon as it is done, if the ledger lets it move
the CCD from PROCESSING to ALERTING (encoded in the association thread; the CCD's alert file is
written once the visit has settled, off the latency path). A CCD whose data cannot give a
result (too few stars) is recorded as unprocessable; one that fails (a lost rank, an unreadable
raw) or is still running at the deadline or at `cancelVisit` is reported on its own (`ccdLate`)
and left to the daytime catch-up. Once every CCD has settled, the visit is alerted with the
CCDs that made it (`visitProcessed`, with the counts), or late if none did (`visitLate`); see
`visit_ledger` for why no CCD can produce alerts twice. With ``butler_repo`` in the payload,
the ranks publish each CCD's products to the Butler; what had to wait for its raws (and a rank
that died since) is published by the service's sweep every PUBLISH_SWEEP_S.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import statistics
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from dmcs import metrics
from dmcs.mpi.launch_command import Launcher, LaunchSettings
from dmcs.payloads.association.alert_production import AlertProductionPipeline, CcdAlerts
from dmcs.payloads.association.butler_outputs import ButlerPublisher
from dmcs.sal.tai import current_tai
from dmcs.services.prompt_processing.alert_stream import AlertStream
from dmcs.services.prompt_processing.ccd_pipeline import (
    UNPROCESSABLE,
    PromptVisitPipeline,
    ccd_item,
    preload_item,
)
from dmcs.services.prompt_processing.rank_pool import PoolError, RankPool
from dmcs.services.prompt_processing.settings import PromptProcessingConfig
from dmcs.services.prompt_processing.visit_ledger import CcdState, VisitLedger, VisitState
from dmcs.sims.daq_store import DaqStore
from dmcs.sims.visit_plan import SCIENCE, parse_group_id, parse_next_visit

Publish = Callable[..., Awaitable[None]]
LEDGER_FILE = "visits.sqlite"
#: How often the service publishes prompt products the ranks left waiting for the Butler.
PUBLISH_SWEEP_S = 10.0
LATE, FAILED = "late", "failed"


@dataclass
class _Visit:
    group_id: str
    visit: int
    end_of_readout: float = 0.0
    task: asyncio.Task[None] | None = None
    preload: asyncio.Task[None] | None = None
    cancel_reason: str = "cancelled"
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Alerts sent whose files are written once the visit has settled (off its latency).
    unwritten: list[CcdAlerts] = field(default_factory=list)


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


def pin_detectors(detectors: list[str], ranks: list[int]) -> dict[str, int]:
    """Each detector's rank: round robin over `ranks` in detector order (empty: none)."""
    return {d: ranks[i % len(ranks)] for i, d in enumerate(detectors)} if ranks else {}


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
        # One thread associates CCDs, one at a time, in the order they finish (APDB writes),
        # and encodes their alerts; another writes the CCDs' alert files once their visit has
        # settled (every CCD alerted or late), outside the visit's latency window.
        self._association = ThreadPoolExecutor(1, thread_name_prefix="association")
        self._alert_files = ThreadPoolExecutor(1, thread_name_prefix="alert-files")
        self._visits: dict[str, _Visit] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._processing = 0
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
        if self._associator.publisher is not None:
            self._spawn(self._sweep_unpublished(self._associator.publisher))

    async def _sweep_unpublished(self, publisher: ButlerPublisher) -> None:
        """Publish the products ranks left waiting for the Butler (a rank may have died
        since), in the association thread, the one that uses this Butler."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(PUBLISH_SWEEP_S)
            try:
                await loop.run_in_executor(self._association,
                                           functools.partial(publisher.retry, force=True))
            except Exception:  # the registry unreachable: the next sweep tries again
                self._log.exception("publishing waiting prompt products failed")

    async def stop(self) -> None:
        """Cancel visits in flight (their unfinished CCDs go late) and stop the pool."""
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
        if self._associator.publisher is not None:  # what the ranks' ends left, once more
            with contextlib.suppress(Exception):
                self._association.submit(self._associator.publisher.retry, force=True)
        self._association.submit(self._associator.close_apdb)
        self._association.shutdown(wait=True)
        self._alert_files.shutdown(wait=True)
        await self.stream.close()

    def pins(self) -> dict[str, int]:
        """Which rank each detector is pinned to now."""
        return pin_detectors(self.detectors, self.pool.live_ranks() if self.pool else [])

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
        """Record the visit and preload its detectors, each on its own rank."""
        try:
            number = self.check_next_visit(sample)
        except VisitRefusedError as error:
            await self._refuse(sample.groupId, str(error))
            return
        if number is None:
            self._log.info("nextVisit %s: not a science visit; nothing to do", sample.groupId)
            return
        if not self.ledger.announce(sample.groupId, number, self.detectors):
            record = self.ledger.get(sample.groupId)
            if record is not None and record.state is not VisitState.ANNOUNCED:
                return  # announced again after its readout: nothing left to preload
        visit = self._visits.setdefault(sample.groupId, _Visit(sample.groupId, number))
        if visit.preload is None and visit.task is None:
            visit.preload = self._spawn(self._preload(visit))

    async def _refuse(self, group_id: str, reason: str) -> None:
        self._log.warning("nextVisit %s refused: %s", group_id, reason)
        await self.publish("visitRefused", groupId=group_id, reason=reason)

    async def _preload(self, visit: _Visit) -> None:
        """Once no visit is being processed, each rank loads its own detectors' data."""
        assert self.pool is not None
        await self._idle.wait()
        if visit.task is not None:
            return  # its readout came first: its CCDs build what they need
        started = asyncio.get_running_loop().time()
        by_rank: dict[int, list[str]] = {}
        for detector, rank in self.pins().items():
            by_rank.setdefault(rank, []).append(detector)
        outcomes = await asyncio.gather(
            *(self.pool.run_on(r, preload_item(visit.visit, d)) for r, d in by_rank.items()),
            return_exceptions=True,
        )
        failed = [f"rank {r}: {o}" for r, o in zip(by_rank, outcomes, strict=True)
                  if isinstance(o, BaseException)]
        if failed:
            self._log.warning("preload of %s failed on %s", visit.group_id, "; ".join(failed))
            return
        await self.publish(
            "visitPreloaded",
            groupId=visit.group_id,
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
        if visit.preload is not None:
            visit.preload.cancel()  # not begun yet, or its rank finishes it unheard

    async def _process(self, visit: _Visit) -> None:
        images = await asyncio.to_thread(self.daq.images, visit.group_id)
        names = [image.name for image in sorted(images, key=lambda image: image.snap)]
        held = set(images[-1].detectors) if images else set()
        detectors = [d for d in self.detectors if d in held]
        if not detectors:
            self._visits.pop(visit.group_id, None)
            reason = f"failed: none of {self.detectors} in the DAQ images {names}"
            if self.ledger.claim(visit.group_id, [VisitState.ANNOUNCED], VisitState.LATE,
                                 reason=reason, images=names):
                await self._visit_late(visit, reason)
            return
        if not self.ledger.begin(visit.group_id, names, detectors):
            self._log.info("%s already %s; not processed again", visit.group_id, self._state(visit))
            self._visits.pop(visit.group_id, None)
            return
        self._processing += 1
        self._idle.clear()
        try:
            await self._process_ccds(visit, names, detectors)
        finally:
            self._processing -= 1
            if not self._processing:
                self._idle.set()
            self._visits.pop(visit.group_id, None)

    async def _process_ccds(self, visit: _Visit, images: list[str], detectors: list[str]) -> None:
        pins = self.pins()
        tasks = {
            d: asyncio.create_task(self._run_ccd(visit, d, images, pins.get(d)))
            for d in detectors
        }
        cancelled = False
        reason = ""
        try:
            remaining = visit.end_of_readout + self.config.deadline_s - current_tai()
            _, pending = await asyncio.wait(tasks.values(), timeout=max(0.0, remaining))
            if pending:
                reason = f"deadline of {self.config.deadline_s:g} s passed"
        except asyncio.CancelledError:
            cancelled = True
            reason = visit.cancel_reason
        running = [d for d, task in tasks.items() if not task.done()]
        if running:
            for detector in await self._ccds_late(visit, running, LATE, reason):
                tasks[detector].cancel()
        # CCDs already sending their alerts finish (a CCD leaves ALERTING only by its sender)
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        try:
            await self._finish(visit)
        finally:
            for alerts in visit.unwritten:
                self._alert_files.submit(self._write_alert_file, alerts)
            visit.unwritten.clear()
        if cancelled:
            raise asyncio.CancelledError

    async def _run_ccd(
        self, visit: _Visit, detector: str, images: list[str], rank: int | None
    ) -> None:
        assert self.pool is not None
        try:
            result = await self.pool.run(ccd_item(visit.visit, detector, images), rank)
        except PoolError as error:
            await self._ccds_late(visit, [detector], FAILED, f"failed: {error}")
            return
        group = visit.group_id
        if UNPROCESSABLE in result:
            reason = result[UNPROCESSABLE]
            if self.ledger.claim_ccd(group, detector, [CcdState.PROCESSING],
                                     CcdState.UNPROCESSABLE, reason=reason):
                self._log.info("%s %s unprocessable: %s", group, detector, reason)
                await self.publish("ccdUnprocessable", groupId=group, visit=str(visit.visit),
                                   detector=detector, reason=reason)
            return
        if not self.ledger.claim_ccd(group, detector, [CcdState.PROCESSING], CcdState.ALERTING):
            return  # late (deadline, cancel) before its result: the catch-up's now
        await self._send_alerts(visit, detector, result)

    async def _send_alerts(self, visit: _Visit, detector: str, result: dict[str, Any]) -> None:
        group = visit.group_id
        loop = asyncio.get_running_loop()
        try:
            alerts, values = await loop.run_in_executor(self._association, self._associate,
                                                        result)
        except Exception as error:  # nothing sent yet: the catch-up may try it again
            self._log.exception("%s %s: association failed", group, detector)
            await self._ccds_late(visit, [detector], FAILED, f"association failed: {error}",
                                  from_state=CcdState.ALERTING)
            return
        sent = await self.stream.send_encoded(values)
        visit.unwritten.append(alerts)
        latency = current_tai() - visit.end_of_readout
        self.ledger.claim_ccd(group, detector, [CcdState.ALERTING], CcdState.ALERTED,
                              alerts=sent, latency=latency)
        visit.results[detector] = result
        self._alerts_sent += sent
        metrics.ALERTS.inc(sent)

    def _associate(self, result: dict[str, Any]) -> tuple[CcdAlerts, list[bytes]]:
        """(In the association thread.) One CCD associated and its alerts encoded: the
        event loop only hands the bytes to the producer."""
        alerts = self._associator.associate_ccd(result)
        return alerts, self.stream.encoded(alerts.packets)

    def _write_alert_file(self, alerts: CcdAlerts) -> None:
        """(In the alert-file thread, once the CCD's visit has settled.) Its alert file."""
        try:
            alerts.write()
        except Exception:
            self._log.exception("writing alert file %s failed (its alerts were sent)",
                                alerts.path)

    async def _ccds_late(
        self, visit: _Visit, detectors: list[str], kind: str, reason: str,
        from_state: CcdState = CcdState.PROCESSING,
    ) -> list[str]:
        """Move these CCDs to LATE or FAILED (for the catch-up); the ones this call moved."""
        state = CcdState.LATE if kind == LATE else CcdState.FAILED
        moved = self.ledger.claim_ccds(visit.group_id, detectors, [from_state], state,
                                       reason=reason)
        for detector in moved:
            self._log.warning("%s %s %s: %s", visit.group_id, detector, kind, reason)
            await self.publish("ccdLate", groupId=visit.group_id, visit=str(visit.visit),
                               detector=detector, kind=kind, reason=reason)
        return moved

    async def _finish(self, visit: _Visit) -> None:
        """Every CCD has settled: the visit is alerted with those that made it, or late."""
        ccds = self.ledger.ccds(visit.group_id)
        count = {state: sum(c.state is state for c in ccds) for state in CcdState}
        alerted = [c for c in ccds if c.state is CcdState.ALERTED]
        if not alerted and not count[CcdState.UNPROCESSABLE]:
            reasons = sorted({c.reason for c in ccds if c.reason})
            reason = "; ".join(reasons) or "no CCD processed"
            if self.ledger.claim(visit.group_id, [VisitState.PROCESSING], VisitState.LATE,
                                 reason=reason):
                await self._visit_late(visit, reason)
            return
        alerts = sum(c.alerts for c in alerted)
        latency = max((c.latency or 0.0 for c in alerted), default=0.0)
        if not self.ledger.claim(visit.group_id, [VisitState.PROCESSING], VisitState.ALERTED,
                                 alerts=alerts, latency=latency):
            return
        self._last_latency = latency
        metrics.VISIT_LATENCY.observe(latency)
        metrics.VISITS.labels("alerted").inc()
        results = [visit.results[c.detector] for c in alerted if c.detector in visit.results]
        await self.publish(
            "visitProcessed",
            groupId=visit.group_id,
            visit=str(visit.visit),
            detectors=",".join(c.detector for c in alerted),
            alerts=alerts,
            diaSources=sum(r["n_diasources"] for r in results),
            sources=sum(r["n_sources"] for r in results),
            seeing=statistics.median(r["psf_fwhm_arcsec"] for r in results) if results else 0.0,
            zeroPoint=statistics.median(r["zero_point"] for r in results) if results else 0.0,
            latency=latency,
            status="ok" if len(alerted) == len(self.detectors) else "partial",
            ccdsAlerted=len(alerted),
            ccdsLate=count[CcdState.LATE],
            ccdsFailed=count[CcdState.FAILED],
            ccdsUnprocessable=count[CcdState.UNPROCESSABLE],
        )

    async def _visit_late(self, visit: _Visit, reason: str) -> None:
        self._log.warning("%s late: %s", visit.group_id, reason)
        metrics.VISITS.labels("late").inc()
        await self.publish(
            "visitLate", groupId=visit.group_id, visit=str(visit.visit), reason=reason
        )

    async def cancel_visit(self, group_id: str, reason: str) -> str:
        """Stop a visit now: its unfinished CCDs go late. ValueError if it is not waiting or
        in progress."""
        record = self.ledger.get(group_id)
        if record is None:
            raise ValueError(f"unknown visit {group_id!r}")
        visit = self._visits.get(group_id)
        if visit is not None and visit.task is not None:
            visit.cancel_reason = reason or "cancelled by command"
            visit.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await visit.task
            return f"{group_id} cancelled while processing"
        if record.state is VisitState.PROCESSING:  # by a process of this service now gone
            reason = reason or "cancelled by command"
            await self._ccds_late(_Visit(group_id, record.visit), record.detectors, LATE, reason)
            await self._finish(_Visit(group_id, record.visit))
            return f"{group_id} cancelled: left processing by an earlier process"
        if record.state is not VisitState.ANNOUNCED:
            raise ValueError(f"visit {group_id} is {record.state}; only waiting or running visits")
        self._visits.pop(group_id, None)
        reason = reason or "cancelled by command"
        if self.ledger.claim(group_id, [VisitState.ANNOUNCED], VisitState.LATE, reason=reason):
            await self._visit_late(_Visit(group_id, record.visit), reason)
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

    def _spawn(self, work: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task
