"""A CCD's prompt products published to the Butler repository once they are written.

Alert production writes a CCD's four products as files (``calexp``, ``diffim``:
tile-compressed images; ``src``, ``diasrc``: catalogs) and then publishes them into the
repository named by the payload's ``butler_repo``: the images registered where they were
written, the catalogs' tables put as parquet (``dmcs.butler.prompt_products``).

A CCD whose visit the repository does not know yet (the archiver has not ingested its raws:
it may be catching up after a restart), or a repository not made yet, is written down as a
small manifest in ``pending_dir`` and tried again by ``retry`` (the warm ranks call it while
idle, and at their end; the prompt-processing service sweeps the directory every few seconds,
so what a rank that died left is published too). Nothing is lost by waiting: the files are on disk,
the manifest names them, and ids are deterministic, so two publishers racing put each once.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from lsst.daf.butler import Butler

from dmcs.butler.prompt_products import PromptOutputs, UnknownVisit
from dmcs.butler.repository import CONFIG_FILE, EXPOSURES
from dmcs.payloads.storage import read_bundle

log = logging.getLogger(__name__)
#: The least time between two attempts at what is pending (a registry query each).
RETRY_INTERVAL_S = 2.0
#: The array of each catalog's file that is the product's table.
TABLE_ARRAYS = {"src": "sources", "diasrc": "diasources"}


class RepositoryMissing(UnknownVisit):
    """The repository has not been created yet (the archiver makes it with the first raws)."""


@dataclass(frozen=True)
class CcdOutputs:
    """One CCD's product files, by dataset type."""

    visit: int
    detector: str
    files: dict[str, str]

    @property
    def manifest_name(self) -> str:
        return f"visit_{self.visit:06d}_{self.detector}.json"


class ButlerPublisher:
    """Publishes CCDs' products into ``repo``; those it cannot yet wait in ``pending_dir``."""

    def __init__(self, repo: Path, pending_dir: Path) -> None:
        self.repo = Path(repo)
        self.pending_dir = Path(pending_dir)
        self.published = 0
        self._outputs: PromptOutputs | None = None
        self._last_try = 0.0
        self._maybe_pending = True  # a manifest left by an earlier (killed) process
        self._left = 0

    def publish(self, ccd: CcdOutputs, tables: dict[str, np.ndarray] | None = None) -> bool:
        """Publish one CCD now (``tables`` saves reading catalogs still in memory), or leave
        its manifest in ``pending_dir`` (why is logged); whether it went in."""
        try:
            self._publish(ccd, tables or {})
        except UnknownVisit as waiting:
            log.info("visit %d %s: products wait for the Butler (%s)",
                     ccd.visit, ccd.detector, waiting)
            self._write_manifest(ccd)
            return False
        self.published += 1
        return True

    def pending(self) -> list[CcdOutputs]:
        """The CCDs whose products wait, from their manifests."""
        if not self.pending_dir.is_dir():
            return []
        waiting = []
        for path in sorted(self.pending_dir.glob("*.json")):
            try:
                waiting.append(CcdOutputs(**json.loads(path.read_text())))
            except FileNotFoundError:  # another publisher just published it
                continue
        return waiting

    def retry(self, *, force: bool = False) -> int:
        """Try what is pending again: what this publisher left, at most every
        RETRY_INTERVAL_S; with ``force``, now and whoever left it. How many still wait."""
        now = time.monotonic()
        if force or (self._maybe_pending and now - self._last_try >= RETRY_INTERVAL_S):
            self._last_try = now
            self._left = 0
            for ccd in self.pending():
                try:
                    self._publish(ccd, {})
                except UnknownVisit:
                    self._left += 1
                    continue
                (self.pending_dir / ccd.manifest_name).unlink(missing_ok=True)
                self.published += 1
            self._maybe_pending = self._left > 0
        return self._left

    def drain(self, timeout_s: float) -> int:
        """Retry until nothing is pending or ``timeout_s`` has passed; how many are left."""
        deadline = time.monotonic() + timeout_s
        while (left := self.retry(force=True)) and time.monotonic() < deadline:
            time.sleep(RETRY_INTERVAL_S)
        if left:
            log.warning("%d CCDs' products not yet published to %s (manifests in %s)",
                        left, self.repo, self.pending_dir)
        return left

    def _write_manifest(self, ccd: CcdOutputs) -> None:
        self.pending_dir.mkdir(parents=True, exist_ok=True)
        path = self.pending_dir / ccd.manifest_name
        staging = path.with_suffix(".tmp")
        staging.write_text(json.dumps(asdict(ccd)))
        staging.replace(path)
        self._maybe_pending = True
        self._left += 1

    def _publish(self, ccd: CcdOutputs, tables: dict[str, np.ndarray]) -> None:
        outputs = self._repository()
        for name, file in ccd.files.items():
            path = Path(file)
            if name in EXPOSURES:
                outputs.ingest(name, path, visit=ccd.visit, detector=ccd.detector)
            else:
                table = tables.get(name)
                if table is None:
                    table = read_bundle(path).arrays[TABLE_ARRAYS[name]]
                outputs.put(name, table, visit=ccd.visit, detector=ccd.detector)

    def _repository(self) -> PromptOutputs:
        if self._outputs is None:
            if not (self.repo / CONFIG_FILE).exists():
                raise RepositoryMissing(f"no Butler repository at {self.repo} yet")
            self._outputs = PromptOutputs(Butler.from_config(str(self.repo), writeable=True))
        return self._outputs
