"""Archiver CSC: maps the camera's endReadout, the header service's announcements and the
``catchUp`` command onto ``dmcs.services.archiver.archiver.Archiver``.

While ENABLED: every endReadout queues its image; on entering ENABLED and on ``catchUp``,
everything the DAQ holds that the Butler lacks is archived. An image waits up to
``header_wait`` seconds after end of readout for its header; its CCDs are written by
``workers`` workers at once and ingested together; each is reported by ``imageInOODS``, and
``archiveStatus`` follows the backlog after every image.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Executor
from itertools import groupby
from pathlib import Path
from typing import Any

from pydantic import Field

from dmcs import metrics
from dmcs.butler.repository import open_repository
from dmcs.csc.configurable_csc import ConfigurableCsc
from dmcs.sal.interfaces import ARCHIVER, MT_CAMERA, MT_HEADER_SERVICE
from dmcs.sal.remote import Remote
from dmcs.sal.tai import current_tai
from dmcs.sal.topics.controller_command import ExpectedError
from dmcs.services.archiver.archiver import Archiver, HeaderRef, Outcome
from dmcs.services.archiver.ccd_writer import ARCHIVED
from dmcs.services.archiver.workers import WorkerKind, default_workers, make_pool
from dmcs.sims.daq_store import DaqImage, DaqStore
from dmcs.sims.data_dirs import data_dir
from dmcs.state_machines.summary_state import State
from dmcs.validation import StrictModel

HEADER_POLL_S = 0.1
KNOWN_HEADERS = 1000


class ArchiverConfig(StrictModel):
    """Where pixels and headers come from, where files and the Butler repository go."""

    archive_root: str = ""
    daq_root: str = ""
    header_root: str = ""
    registry_url: str = ""
    camera: str = "LSSTCam"
    header_wait: float = Field(5.0, ge=0)
    workers: int = Field(default_factory=default_workers, ge=1)
    worker_kind: WorkerKind = WorkerKind.THREAD


class ArchiverCsc(ConfigurableCsc):
    """Archives every image the camera reads out exactly once, and says so per CCD."""

    interface = ARCHIVER
    config_model = ArchiverConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.archiver: Archiver | None = None
        self._pool: Executor | None = None
        self.headers: dict[str, HeaderRef] = {}
        self.totals = {"ccds": 0, "bytes": 0, "failures": 0}
        self.images_archived: set[str] = set()
        self._lock = asyncio.Lock()
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._remotes: list[Remote] = []

    async def configure(self, config: ArchiverConfig) -> None:
        root = Path(config.archive_root) if config.archive_root else data_dir("archive")
        try:
            butler = await asyncio.to_thread(open_repository, root, config.registry_url)
            daq = DaqStore(Path(config.daq_root) if config.daq_root else data_dir("daq"))
        except (ValueError, OSError) as err:
            raise ExpectedError(f"archiver configuration: {err}") from None
        self._close_pool()
        self._pool = make_pool(config.worker_kind, config.workers)
        self.archiver = Archiver(
            root,
            daq,
            butler,
            Path(config.header_root) if config.header_root else data_dir("headers"),
            self._pool,
            self.identity,
            self.version,
        )

    def _close_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    @property
    def archiver_config(self) -> ArchiverConfig:
        assert isinstance(self.config, ArchiverConfig)
        return self.config

    async def publish_startup_events(self) -> None:
        """Started straight into DISABLED/ENABLED (``dmcs run --state``): begin work too."""
        await super().publish_startup_events()
        await self.handle_summary_state()

    async def handle_summary_state(self) -> None:
        if self.summary_state == State.ENABLED and not self._tasks:
            camera = Remote(self.domain, MT_CAMERA, include=["endReadout"], listen_only=True)
            camera.evt("endReadout").callback = self._on_end_readout
            headers = Remote(self.domain, MT_HEADER_SERVICE, include=["largeFileObjectAvailable"],
                             listen_only=True)
            headers.evt("largeFileObjectAvailable").callback = self._on_header
            self._remotes = [headers, camera]
            for remote in self._remotes:
                await remote.start()
            self._queue.put_nowait(None)
            self._tasks = [asyncio.create_task(self._work())]
        elif self.summary_state != State.ENABLED:
            await self._stop()

    async def close(self) -> None:
        await self._stop()
        self._close_pool()
        await super().close()

    async def _stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        remotes, self._remotes = self._remotes, []
        for remote in remotes:
            await remote.close()

    def _on_end_readout(self, sample: Any) -> None:
        self._queue.put_nowait(sample.imageName)

    def _on_header(self, sample: Any) -> None:
        if sample.url.startswith("file://"):
            self.headers[sample.id] = HeaderRef(
                Path(sample.url.removeprefix("file://")), sample.checkSum
            )
            while len(self.headers) > KNOWN_HEADERS:
                del self.headers[next(iter(self.headers))]

    async def do_catchUp(self, data: Any) -> str:
        self.assert_enabled("catchUp")
        await self.controller.ack_in_progress(data, 60.0, "catching up")
        outcomes = await self._catch_up()
        archived = sum(o.newly_archived for o in outcomes)
        failed = sum(o.status_code != ARCHIVED for o in outcomes)
        return f"caught up: {archived} CCD(s) archived, {failed} failed"

    async def _work(self) -> None:
        """Archive queued images in arrival order; None means a full catch-up."""
        while True:
            name = await self._queue.get()
            try:
                if name is None:
                    await self._catch_up()
                else:
                    await self._archive_image(name)
            except Exception:
                self.log.exception("archiving %s failed; carrying on", name or "catch-up")

    async def _catch_up(self) -> list[Outcome]:
        assert self.archiver is not None
        pending = await asyncio.to_thread(self.archiver.pending)
        if pending:
            self.log.info("catch-up: %d CCD(s) in the DAQ not archived", len(pending))
        outcomes = []
        for _, ccds in groupby(pending, key=lambda ccd: ccd[0].name):
            group = list(ccds)
            outcomes += await self._archive(group[0][0], [detector for _, detector in group])
        return outcomes

    async def _archive_image(self, name: str) -> None:
        assert self.archiver is not None
        try:
            image = await asyncio.to_thread(self.archiver.daq.image, name)
        except KeyError as err:
            self.log.error("endReadout for %s: %s", name, err)
            return
        await self._archive(image, image.detectors)

    async def _archive(self, image: DaqImage, detectors: Sequence[str]) -> list[Outcome]:
        """One image's CCDs, one image at a time (the live path and catch-up may both reach
        it); its CCDs in parallel."""
        assert self.archiver is not None
        header = await self._header_for(image)
        async with self._lock:
            outcomes = await asyncio.to_thread(
                self.archiver.archive_image, image, detectors, header)
        reported = [o for o in outcomes if o.worth_reporting]
        if reported:
            await self._report(image, reported)
        return outcomes

    async def _header_for(self, image: DaqImage) -> HeaderRef | None:
        """The image's header: announced, or on disk; wait at most header_wait after readout."""
        assert self.archiver is not None
        deadline = image.date_end + self.archiver_config.header_wait
        while True:
            header = self.headers.get(image.name) or self.archiver.find_header(image)
            if header is not None or current_tai() >= deadline:
                return header
            await asyncio.sleep(HEADER_POLL_S)

    async def _report(self, image: DaqImage, outcomes: list[Outcome]) -> None:
        assert self.archiver is not None
        for outcome in outcomes:
            if outcome.status_code == ARCHIVED:
                self.totals["ccds"] += 1
                metrics.IMAGES_ARCHIVED.labels(self.interface.name).inc()
                self.totals["bytes"] += outcome.byte_size
                self.images_archived.add(outcome.obsid)
            else:
                self.totals["failures"] += 1
                self.log.error("%s %s_%s: %s", outcome.obsid, outcome.raft, outcome.sensor,
                               outcome.description)
            await self.controller.evt("imageInOODS").set_write(
                camera=self.archiver_config.camera,
                obsid=outcome.obsid,
                raft=outcome.raft,
                sensor=outcome.sensor,
                statusCode=outcome.status_code,
                description=outcome.description[:1000],
            )
        backlog = await asyncio.to_thread(self.archiver.daq.pending_count)
        metrics.ARCHIVE_BACKLOG.labels(self.interface.name).set(backlog)
        await self.controller.tel("archiveStatus").set_write(
            backlog=backlog,
            imagesArchived=len(self.images_archived),
            ccdsArchived=self.totals["ccds"],
            bytesArchived=float(self.totals["bytes"]),
            failures=self.totals["failures"],
            lastLatency=max(0.0, current_tai() - image.date_end),
        )
