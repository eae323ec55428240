"""Rendering the simulated camera's pixels off the DM path: a pool of niced processes.

At the site the camera is other hardware; here its pixels cost ~1.5 s of CPU per 4k CCD snap.
So they are rendered into the render cache (``dmcs.payloads.camera.render_cache``) before
they are needed, by worker processes niced below the DM services (``RENDER_NICENESS``), and
a readout only copies them into the DAQ store. ``prerender`` fills the cache for a night's
visits before the night starts; ``RenderPool.ahead`` renders a visit's snaps while the
camera integrates it, and the next visits' before they are taken.
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dmcs.payloads.camera.focal_plane import FocalPlane
from dmcs.payloads.camera.render_cache import RenderCache

if TYPE_CHECKING:
    from dmcs.sims.camera import CameraConfig

#: Below the DM services (niceness 0): the renderers get only the CPU they leave.
RENDER_NICENESS = 10

log = logging.getLogger(__name__)

_worker_cache: RenderCache | None = None


def _start_worker(config_json: str, cache_root: str, niceness: int) -> None:
    from dmcs.sims.camera import CameraConfig

    global _worker_cache
    os.nice(niceness)
    config = CameraConfig.model_validate_json(config_json)
    _worker_cache = RenderCache(Path(cache_root), config.simulator(), config.cache_bytes)


def _render_science_snap(visit: int, detector: str, snap: int) -> None:
    assert _worker_cache is not None
    focal_plane = FocalPlane(_worker_cache.simulator.model.detector_size)
    _worker_cache.science_snap(visit, focal_plane.detector(detector), snap)


class RenderPool:
    """Worker processes (started on first use) that render science snaps into the cache."""

    def __init__(self, config: CameraConfig, cache: RenderCache, workers: int,
                 niceness: int = RENDER_NICENESS) -> None:
        self.config = config
        self.cache = cache
        self.workers = workers
        self.niceness = niceness
        self.focal_plane = FocalPlane(config.detector_size)
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None
        self._pending: dict[str, concurrent.futures.Future[None]] = {}

    def _pool(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._executor is None:
            self._executor = concurrent.futures.ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(self.config.model_dump_json(), str(self.cache.root), self.niceness),
            )
        return self._executor

    def ahead(self, visits: Iterable[int], detectors: Iterable[str]) -> int:
        """Queue every science snap of these visits not yet cached nor queued; how many."""
        snaps = self.cache.simulator.model.snaps_per_visit
        queued = 0
        for visit in visits:
            for name in detectors:
                for snap in range(snaps):
                    key = self.cache.science_key(visit, self.focal_plane.detector(name), snap)
                    if key in self._pending or self.cache.get(key) is not None:
                        continue
                    self._pending[key] = self._submit(visit, name, snap)
                    queued += 1
        return queued

    def _submit(self, visit: int, detector: str, snap: int) -> concurrent.futures.Future[None]:
        try:
            return self._pool().submit(_render_science_snap, visit, detector, snap)
        except concurrent.futures.process.BrokenProcessPool:
            log.warning("a rendering worker died; starting the pool again")
            self.close()
            return self._pool().submit(_render_science_snap, visit, detector, snap)

    def wait_or_take_over(self, key: str) -> None:
        """Before a readout of ``key``: wait if a worker is rendering it; if it is still
        queued, withdraw it (the caller renders it at its own priority instead)."""
        future = self._pending.pop(key, None)
        if future is not None and not future.cancel():
            try:
                future.result()
            except Exception as error:  # the caller renders it instead
                log.warning("rendering %s in the pool failed (%s); rendering it here", key, error)
        self._forget_done()

    def wait_all(self) -> None:
        for future in concurrent.futures.as_completed(list(self._pending.values())):
            future.result()
        self._forget_done()

    def _forget_done(self) -> None:
        self._pending = {k: f for k, f in self._pending.items() if not f.done()}

    def close(self) -> None:
        """Stop the workers; snaps still queued are dropped (a readout renders them)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._pending.clear()


@dataclass(frozen=True)
class PrerenderReport:
    rendered: int
    already_cached: int
    seconds: float
    cache: Path

    def line(self) -> str:
        return (f"camera pixels: {self.rendered} snap(s) rendered in {self.seconds:.1f} s, "
                f"{self.already_cached} already in {self.cache}")


def prerender(config: CameraConfig, visits: Iterable[int], workers: int | None = None
              ) -> PrerenderReport:
    """Render every science snap of ``visits`` on the configured detectors into the cache,
    with ``workers`` niced processes (default: every core; 0: in this process); blocks until
    all are there."""
    from dmcs.sims.camera import render_cache

    cache = render_cache(config)
    focal_plane = FocalPlane(config.detector_size)
    visits = list(visits)
    missing = [
        (visit, focal_plane.detector(name), snap)
        for visit in visits
        for name in config.detectors
        for snap in range(cache.simulator.model.snaps_per_visit)
        if cache.get(cache.science_key(visit, focal_plane.detector(name), snap)) is None
    ]
    started = time.monotonic()
    if workers == 0:
        for visit, detector, snap in missing:
            cache.science_snap(visit, detector, snap)
    elif missing:
        pool = RenderPool(config, cache, workers or os.cpu_count() or 1)
        try:
            pool.ahead(visits, config.detectors)
            pool.wait_all()
        finally:
            pool.close()
    total = len(visits) * len(config.detectors) * cache.simulator.model.snaps_per_visit
    return PrerenderReport(len(missing), total - len(missing), time.monotonic() - started,
                           cache.root)


def prerender_site(config_root: Path, visits: Iterable[int]) -> PrerenderReport:
    """``prerender`` for the camera configured under a site's config root (MTCamera)."""
    import yaml

    from dmcs.sims.camera import CameraConfig

    values = yaml.safe_load((config_root / "MTCamera" / "_init.yaml").read_text()) or {}
    return prerender(CameraConfig.model_validate(values), visits)
