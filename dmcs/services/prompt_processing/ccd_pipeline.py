"""`prompt-visit`: the alert-production payload per CCD, on raws read from the DAQ store.

The warm pool's ranks run it. Two kinds of item:

- ``preload visit=<n> detector=<a>,<b>``: load the master calibrations and build the
  templates of those detectors for visit ``n`` before its pixels exist (on nextVisit);
- ``visit=<n> detector=<name> images=<snap0>,<snap1>``: process one CCD from the raw snaps
  the camera wrote to the DAQ store under those image names. A CCD whose data cannot give a
  result (``ScienceLimitError``: too few stars) is a result too: ``unprocessable`` holds the
  reason, and the item succeeds.

Outputs other than ``diasrc`` are written after the item's result is sent (``idle_work``),
by a forked child at niceness OUTPUTS_NICENESS (``niced_child``: the ~2 s of tile compression
per 4k CCD then takes only CPU the next CCD and the service's alerts leave), and published to
the Butler repository (``butler_repo``) by the rank when the child is done; a CCD whose raws
the archiver has not ingested yet is tried again when idle, and at the end (``close``).
The service associates each CCD as it comes (``associate_ccd``: the APDB, the CCD's alert
packets, sent; the alert files are written once the visit has settled); the catch-up uses
``finalize_ccd``.
The simulator is still the instrument model (gains, sky model for the reference catalog);
only the pixels come from the DAQ.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from functools import lru_cache
from pathlib import Path
from typing import Any

from dmcs.payloads.association.alert_production import (
    SECONDS_PER_DAY,
    AlertProductionPipeline,
    AlertReadyCcd,
)
from dmcs.payloads.association.prompt_processing import PromptProcessor
from dmcs.payloads.camera.camera import CameraSimulator, RawExposure
from dmcs.payloads.camera.exposure import Exposure
from dmcs.payloads.camera.focal_plane import Detector
from dmcs.payloads.config import AlertProductionConfig
from dmcs.payloads.science_limit import ScienceLimitError
from dmcs.payloads.stage_timer import StageTimer
from dmcs.services.prompt_processing.niced_child import ChildFailed, NicedChild
from dmcs.sims.daq_store import DaqStore

log = logging.getLogger(__name__)

PRELOAD = "preload"
#: Outputs a rank may hold unwritten (bytes) before it writes some ahead of the next CCD.
UNWRITTEN_BYTES = 1_500_000_000
_PLANES_PER_CCD = 9  # calexp, diffim and catalogs: ~600 MB per 4k CCD (docs/payloads.md)
#: The key of a CCD result that holds why the science could not be done on it.
UNPROCESSABLE = "unprocessable"
#: MJD of 1970-01-01: the DAQ's times are TAI seconds since then.
UNIX_EPOCH_MJD = 40587.0
_TEMPLATE_VISITS_KEPT = 3
#: How long a stopping rank keeps trying to publish products whose raws are not in yet
#: (within the pool's own grace for a polite stop, ``rank_pool._STOP_GRACE_S``).
PUBLISH_GRACE_S = 2.0
#: Niceness of the child writing a CCD's outputs: below every DM service (docs/night.md).
OUTPUTS_NICENESS = 19
#: How long one ``idle_work`` call waits for that child before the rank looks for items.
WRITER_POLL_S = 0.05


def ccd_item(visit: int, detector: str, images: list[str]) -> str:
    return f"visit={visit} detector={detector} images={','.join(images)}"


def preload_item(visit: int, detectors: list[str]) -> str:
    return f"{PRELOAD} visit={visit} detector={','.join(detectors)}"


def parse_item(item: str) -> tuple[bool, dict[str, str]]:
    """(is a preload, its key=value terms); ValueError naming a bad term."""
    terms = item.split()
    preload = bool(terms) and terms[0] == PRELOAD
    fields: dict[str, str] = {}
    for term in terms[preload:]:
        key, separator, value = term.partition("=")
        if not separator or key not in ("visit", "detector", "images") or not value:
            raise ValueError(f"bad term {term!r} in prompt-visit item {item!r}")
        fields[key] = value
    needed = ("visit", "detector") if preload else ("visit", "detector", "images")
    missing = [key for key in needed if key not in fields]
    if missing:
        raise ValueError(f"prompt-visit item {item!r} lacks {', '.join(missing)}")
    return preload, fields


class DaqSnaps(CameraSimulator):
    """The camera simulator whose science snaps are the raws the camera left in the DAQ."""

    def __init__(self, simulator: CameraSimulator, daq: DaqStore) -> None:
        super().__init__(simulator.model, simulator.sky, simulator.seed)
        self.daq = daq
        self.images: dict[int, list[str]] = {}

    def science_snap(self, visit: int, detector: Detector, snap: int) -> RawExposure:
        names = self.images.get(visit, [])
        if snap >= len(names):
            raise LookupError(f"visit {visit}: snap {snap} not among DAQ images {names}")
        return self.daq.read_raw(names[snap], detector.name)


class WarmPromptProcessor(PromptProcessor):
    """Keeps every configured detector's calibrations, and recent visits' templates."""

    def __init__(self, config: AlertProductionConfig, simulator: CameraSimulator) -> None:
        super().__init__(config, simulator)
        self.calibrations = lru_cache(maxsize=len(config.detectors))(self._load_calibrations)
        self._templates: OrderedDict[tuple[int, int], Exposure] = OrderedDict()

    def template(self, visit: int, detector: Detector) -> Exposure:
        key = (visit, detector.index)
        if key not in self._templates:
            self._templates[key] = super().template(visit, detector)
            kept = _TEMPLATE_VISITS_KEPT * len(self.config.detectors)
            while len(self._templates) > kept:
                self._templates.popitem(last=False)
        return self._templates[key]


class PromptVisitPipeline(AlertProductionPipeline):
    """See the module docstring; config: alert-production's plus ``daq_root``."""

    name = "prompt-visit"
    summary = "prompt processing's warm rank pool: one CCD from raws in the DAQ store"
    data_query_help = "not planned from a query: the PromptProcessing CSC feeds its items"
    scores_truth = False  # a test of the science, kept out of the latency window
    #: The warm pool's ranks write calexp, src and diffim after the result is sent, when no
    #: item waits (``idle_work``), so no CCD's alerts wait for another's big files.
    defers_outputs = True

    def __init__(self, config: dict[str, Any], output_dir: Path) -> None:
        payload_config = dict(config)
        daq_root = payload_config.pop("daq_root", None)
        if not daq_root:
            raise ValueError(f"invalid {self.name} config: field 'daq_root' is required")
        super().__init__(payload_config, output_dir)
        self.daq_root = Path(daq_root)
        self.snaps: DaqSnaps | None = None
        self._unwritten: deque[AlertReadyCcd] = deque()
        self._writing: tuple[AlertReadyCcd, NicedChild] | None = None
        self.daq: DaqStore | None = None

    def setup(self) -> None:
        super().setup()
        assert self.simulator is not None
        self.daq = DaqStore(self.daq_root)
        self.snaps = DaqSnaps(self.simulator, self.daq)
        self.simulator = self.snaps
        self.processor = WarmPromptProcessor(self.config, self.snaps)

    def visit_midpoint_mjd_tai(self, visit: int) -> float:
        """Start of the first snap plus half the snaps' exposure, from the camera's images."""
        assert self.daq is not None and self.snaps is not None
        images = [self.daq.image(name) for name in self.snaps.images.get(visit, [])]
        if not images:
            return super().visit_midpoint_mjd_tai(visit)
        start = min(image.date_obs for image in images)
        exposure = sum(image.exposure_time for image in images)
        return UNIX_EPOCH_MJD + (start + exposure / 2) / SECONDS_PER_DAY

    def run_item(self, item: str) -> dict[str, Any]:
        preload, fields = parse_item(item)
        if self.snaps is None:
            self.setup()
        assert self.snaps is not None and self.processor is not None
        visit = int(fields["visit"])
        if preload:
            detectors = [self.focal_plane.detector(d) for d in fields["detector"].split(",")]
            for detector in detectors:
                self.processor.calibrations(detector)
                self.processor.template(visit, detector)
            return {"outputs": [], "preloaded": [d.name for d in detectors]}
        self.snaps.images[visit] = fields["images"].split(",")
        try:
            if not self.defers_outputs:
                return super().run_item(f"visit={visit} detector={fields['detector']}")
            while self._unwritten_bytes() > UNWRITTEN_BYTES:
                self.idle_work()
            timer = StageTimer()
            ccd = self.alert_ready(visit, fields["detector"], timer)
        except ScienceLimitError as limit:
            return {"visit": visit, "detector": fields["detector"], UNPROCESSABLE: str(limit)}
        self.stage_seconds = timer.seconds
        self._unwritten.append(ccd)
        return {**ccd.result, "outputs": list(ccd.result["outputs"])}

    def idle_work(self) -> bool:
        """Outputs of CCDs already answered: one written by a niced child at a time, each
        recorded (and published) once its child is done; whether more remain."""
        if self._writing is not None:
            if not self._writing[1].done(WRITER_POLL_S):
                return True
            self._record_written()
        if self._unwritten:
            ccd = self._unwritten.popleft()
            self._writing = ccd, NicedChild(lambda: self.write_output_files(ccd),
                                            OUTPUTS_NICENESS)
        if self.publisher is not None:
            self.publisher.retry()
        return bool(self._unwritten) or self._writing is not None

    def _record_written(self) -> None:
        assert self._writing is not None
        ccd, child = self._writing
        self._writing = None
        try:
            written = child.outcome()
        except ChildFailed as failure:
            log.warning("visit %s %s: the outputs' writer failed; writing them here: %s",
                        ccd.visit, ccd.detector, failure)
            written = self.write_output_files(ccd)
        self.record_outputs(ccd, written)

    def close(self) -> None:
        """At the rank's end: every answered CCD written, and published if it can be."""
        while self.idle_work():
            pass
        if self.publisher is not None:
            self.publisher.drain(PUBLISH_GRACE_S)

    def _unwritten_bytes(self) -> int:
        return sum(
            ccd.products.calexp.image.nbytes * _PLANES_PER_CCD
            for ccd in self._unwritten
            if ccd.products is not None
        )
