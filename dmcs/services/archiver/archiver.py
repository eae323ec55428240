"""Archiving the CCDs of one image, exactly once: the Archiver's logic, apart from messaging.

Order of work per image (an exposure), and why a crash anywhere neither loses nor duplicates
a CCD:

1. ask the Butler which of its CCDs are ingested already -> only mark those archived in the DAQ;
2. the others, in parallel (``workers``): read the pixels from the DAQ (md5-checked) and write
   the FITS file atomically (temp + rename) at its one deterministic path, md5 on the way;
3. one directory fsync, then one Butler transaction: the exposure's records and one ``ingest``
   of its new files, with deterministic dataset ids;
4. mark those CCDs archived in the DAQ (they may now be evicted).

A crash before 3 leaves no dataset: the next attempt rewrites the same paths. A crash after 3
finds the datasets at 1, and those CCDs are reported again (imageInOODS is at least once; its
consumers key on obsid, raft, sensor). A damaged DAQ file is marked FAILED (status 1) and never
retried; an I/O error writing a file or registering it (status 2) stays pending for the next
catch-up.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from astropy.io import fits
from lsst.daf.butler import Butler
from lsst.daf.butler.registry import ConflictingDefinitionError
from sqlalchemy.exc import SQLAlchemyError

from dmcs.butler.instrument import exposure_id
from dmcs.butler.raws import RawFile, ingest_exposure, ingested_detectors
from dmcs.services.archiver.ccd_writer import (
    ARCHIVED,
    WRITE_FAILED,
    Cards,
    CcdFailed,
    CcdJob,
    CcdWritten,
    write_ccd,
)
from dmcs.services.archiver.exposure_info import exposure_info
from dmcs.services.archiver.raw_fits import sync_directory
from dmcs.sims.daq_store import CcdState, DaqImage, DaqStore
from dmcs.sims.header import header_path, read_header


@dataclass(frozen=True)
class HeaderRef:
    """A header file announced by the header service (md5 from its event)."""

    path: Path
    md5: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What happened to one CCD; ``status_code`` is imageInOODS's (0 = archived)."""

    obsid: str
    raft: str
    sensor: str
    status_code: int
    description: str
    byte_size: int = 0
    newly_archived: bool = False
    #: Ingested by an earlier run that stopped before marking the DAQ (report it again).
    recovered: bool = False

    @property
    def worth_reporting(self) -> bool:
        return self.status_code != ARCHIVED or self.newly_archived or self.recovered


def archive_path(root: Path, image: DaqImage, detector: str) -> Path:
    """``<root>/<instrument>/<dayobs>/<obsid>/<obsid>_<raft>_<sensor>.fits``."""
    return root / image.instrument / image.dayobs / image.name / f"{image.name}_{detector}.fits"


#: What registering can fail with besides I/O: the database's errors, a race lost twice.
REGISTRY_ERRORS = (OSError, SQLAlchemyError, ConflictingDefinitionError)


def _outcome(image: DaqImage, detector: str, status: int, text: str, *, byte_size: int = 0,
             newly_archived: bool = False, recovered: bool = False) -> Outcome:
    raft, sensor = detector.split("_")
    return Outcome(image.name, raft, sensor, status, text, byte_size, newly_archived, recovered)


class Archiver:
    """Turns DAQ images into archived FITS files, ingested as raws into the Butler."""

    def __init__(
        self,
        root: Path,
        daq: DaqStore,
        butler: Butler,
        header_root: Path,
        pool: Executor,
        identity: str,
        version: str,
    ) -> None:
        self.root = root
        self.daq = daq
        self.butler = butler
        self.header_root = header_root
        self.pool = pool
        self.provenance = f"{identity}@{socket.gethostname()}"
        self.version = version

    def find_header(self, image: DaqImage) -> HeaderRef | None:
        """The header service's file for ``image`` where it writes them, if it is there."""
        path = header_path(self.header_root, image.dayobs, image.name)
        return HeaderRef(path) if path.is_file() else None

    def pending(self) -> list[tuple[DaqImage, str]]:
        """CCDs the DAQ holds that are neither archived nor given up on, oldest first."""
        return self.daq.pending()

    def archive_image(
        self, image: DaqImage, detectors: Sequence[str], header: HeaderRef | None
    ) -> list[Outcome]:
        """Archive these CCDs of one image (idempotent: an ingested CCD is not written again)."""
        ingested = ingested_detectors(self.butler, exposure_id(image.dayobs, image.number))
        outcomes = [self._already_archived(image, d) for d in detectors if d in ingested]
        todo = [d for d in detectors if d not in ingested]
        if not todo:
            return outcomes
        cards, header_md5, note = self._header_cards(header)
        header_provenance: Cards = {"HEADURL": header.path.as_uri() if header and cards else "",
                             "HEADMD5": header_md5}
        jobs = [CcdJob(self.daq.root, image, d, cards, self._cards(image, d) | header_provenance,
                       archive_path(self.root, image, d)) for d in todo]
        results = list(self.pool.map(write_ccd, jobs))
        written = [r for r in results if isinstance(r, CcdWritten)]
        outcomes += [self._failed(image, r) for r in results if isinstance(r, CcdFailed)]
        if written:
            outcomes += self._ingest(image, cards, written, note)
        return outcomes

    def _ingest(self, image: DaqImage, cards: fits.Header | None, written: list[CcdWritten],
                note: str) -> list[Outcome]:
        try:
            sync_directory(written[0].path.parent)
            ingest_exposure(self.butler, exposure_info(self.daq, image, cards),
                            [RawFile(w.detector, w.path) for w in written])
        except REGISTRY_ERRORS as err:
            text = " ".join(str(err).split())[:500]
            return [_outcome(image, w.detector, WRITE_FAILED,
                             f"cannot register {w.path} in the Butler: {text}") for w in written]
        outcomes = []
        for w in written:
            self.daq.mark(image.name, w.detector, CcdState.ARCHIVED)
            outcomes.append(_outcome(image, w.detector, ARCHIVED,
                                     f"archived {w.path} md5 {w.md5}{note}",
                                     byte_size=w.size, newly_archived=True))
        return outcomes

    def _already_archived(self, image: DaqImage, detector: str) -> Outcome:
        recovered = self.daq.ccd_state(image.name, detector) == CcdState.NEW
        self.daq.mark(image.name, detector, CcdState.ARCHIVED)
        path = archive_path(self.root, image, detector)
        size = path.stat().st_size if path.exists() else 0
        return _outcome(image, detector, ARCHIVED, f"archived {path}", byte_size=size,
                        recovered=recovered)

    def _failed(self, image: DaqImage, failed: CcdFailed) -> Outcome:
        if failed.status_code != WRITE_FAILED:
            self.daq.mark(image.name, failed.detector, CcdState.FAILED)
        return _outcome(image, failed.detector, failed.status_code, failed.description)

    def _cards(self, image: DaqImage, detector: str) -> Cards:
        raft, sensor = detector.split("_")
        return {
            "OBSID": image.name,
            "INSTRUME": image.instrument,
            "DAYOBS": image.dayobs,
            "SEQNUM": image.number,
            "RAFTBAY": raft,
            "CCDSLOT": sensor,
            "DETNAME": detector,
            "GROUPID": image.group_id,
            "ORIGIN": "dmcs Archiver",
            "ARCHIVER": self.provenance,
            "ARCHVER": self.version,
        }

    @staticmethod
    def _header_cards(header: HeaderRef | None) -> tuple[fits.Header | None, str, str]:
        """The header's cards and md5, or None and a note saying why the file goes without."""
        if header is None:
            return None, "", " (no header from the header service)"
        try:
            cards, md5 = read_header(header.path, header.md5)
        except (OSError, ValueError) as err:
            return None, "", f" (header unusable: {err})"
        return cards, md5, ""
