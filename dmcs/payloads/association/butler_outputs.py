"""A CCD's prompt products published to the Butler repository once they are written.

Alert production writes a CCD's images (``calexp``, ``diffim``: tile-compressed files) and
then publishes them with its tables (``src``, ``diasrc``) into the repository named by the
payload's ``butler_repo``: the images registered where they were written, the tables put as
parquet (``dmcs.butler.prompt_products``). A CCD whose visit the repository does not know yet
(the archiver has not ingested its raws), or a repository not made yet, waits in ``pending``
and is tried again by ``retry`` (the warm ranks call it when idle, and once more at their
end); nothing is lost by waiting, because the files are already on disk and ids are
deterministic.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from lsst.daf.butler import Butler

from dmcs.butler.prompt_products import PromptOutputs, UnknownVisit
from dmcs.butler.repository import CONFIG_FILE

log = logging.getLogger(__name__)
#: The least time between two attempts at what is pending (a registry query each).
RETRY_INTERVAL_S = 2.0


class RepositoryMissing(UnknownVisit):
    """The repository has not been created yet (the archiver makes it with the first raws)."""


@dataclass
class CcdOutputs:
    """What one CCD publishes: image files already written, tables still in memory."""

    visit: int
    detector: str
    images: dict[str, Path]
    tables: dict[str, np.ndarray]


class ButlerPublisher:
    """Publishes CCDs' products into ``repo``, keeping those it cannot publish yet."""

    def __init__(self, repo: Path) -> None:
        self.repo = Path(repo)
        self.pending: list[CcdOutputs] = []
        self.published = 0
        self._outputs: PromptOutputs | None = None
        self._last_try = 0.0

    def publish(self, ccd: CcdOutputs) -> bool:
        """Publish one CCD now, or keep it pending (why is logged); whether it went in."""
        try:
            self._publish(ccd)
        except UnknownVisit as waiting:
            log.info("visit %d %s: products wait for the Butler (%s)",
                     ccd.visit, ccd.detector, waiting)
            self.pending.append(ccd)
            return False
        self.published += 1
        return True

    def retry(self, *, force: bool = False) -> int:
        """Try what is pending again (at most every RETRY_INTERVAL_S unless ``force``);
        how many CCDs are still pending."""
        now = time.monotonic()
        if self.pending and (force or now - self._last_try >= RETRY_INTERVAL_S):
            self._last_try = now
            waiting, self.pending = self.pending, []
            for ccd in waiting:
                self.publish(ccd)
        return len(self.pending)

    def drain(self, timeout_s: float) -> int:
        """Retry until nothing is pending or ``timeout_s`` has passed; how many are left."""
        deadline = time.monotonic() + timeout_s
        while self.retry(force=True) and time.monotonic() < deadline:
            time.sleep(RETRY_INTERVAL_S)
        if self.pending:
            log.warning("%d CCDs' products not published to %s: %s", len(self.pending),
                        self.repo, ", ".join(f"visit {c.visit} {c.detector}"
                                             for c in self.pending))
        return len(self.pending)

    def _publish(self, ccd: CcdOutputs) -> None:
        outputs = self._repository()
        for name, path in ccd.images.items():
            outputs.ingest(name, path, visit=ccd.visit, detector=ccd.detector)
        for name, table in ccd.tables.items():
            outputs.put(name, table, visit=ccd.visit, detector=ccd.detector)

    def _repository(self) -> PromptOutputs:
        if self._outputs is None:
            if not (self.repo / CONFIG_FILE).exists():
                raise RepositoryMissing(f"no Butler repository at {self.repo} yet")
            self._outputs = PromptOutputs(Butler.from_config(str(self.repo), writeable=True))
        return self._outputs
