"""Archiving one CCD of one image, exactly once: the Archiver's logic, apart from messaging.

Order of work per CCD, and why a crash anywhere neither loses nor duplicates it:

1. catalog already has ``(obsid, raft, sensor)`` -> only mark the DAQ copy archived;
2. read pixels from the DAQ (md5-checked) and the header file;
3. write the FITS file atomically (temp + rename) at its one deterministic path;
4. register the catalog row (``ON CONFLICT DO NOTHING``);
5. mark the DAQ copy archived (it may now be evicted).

A crash before 4 leaves no row: the next attempt rewrites the same path. A crash after 4
finds the row at step 1, and the CCD is reported again (imageInOODS is at least once; its
consumers key on obsid, raft, sensor). A damaged DAQ file is marked FAILED (status 1) and
never retried; an I/O error writing the archive (status 2) stays pending for the next
catch-up.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from astropy.io import fits

from dmcs.sal.tai import current_tai
from dmcs.services.archiver.catalog import Catalog, RawRecord
from dmcs.services.archiver.raw_fits import assemble, write_atomically
from dmcs.sims.daq_store import CcdState, DaqCorruptError, DaqImage, DaqStore
from dmcs.sims.header import header_path, read_header

ARCHIVED = 0
DAQ_DATA_BAD = 1
WRITE_FAILED = 2


@dataclass(frozen=True)
class HeaderRef:
    """A header file announced by the header service (md5 from its event)."""

    path: Path
    md5: str | None = None

    @property
    def url(self) -> str:
        return self.path.as_uri()


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
    #: Catalogued by an earlier run that stopped before marking the DAQ (report it again).
    recovered: bool = False

    @property
    def worth_reporting(self) -> bool:
        return self.status_code != ARCHIVED or self.newly_archived or self.recovered


def archive_path(root: Path, image: DaqImage, detector: str) -> Path:
    """``<root>/<instrument>/<dayobs>/<obsid>/<obsid>_<raft>_<sensor>.fits``."""
    return root / image.instrument / image.dayobs / image.name / f"{image.name}_{detector}.fits"


class Archiver:
    """Turns DAQ CCDs into archived, catalogued FITS files."""

    def __init__(
        self,
        root: Path,
        daq: DaqStore,
        catalog: Catalog,
        header_root: Path,
        identity: str,
        version: str,
    ) -> None:
        self.root = root
        self.daq = daq
        self.catalog = catalog
        self.header_root = header_root
        self.provenance = f"{identity}@{socket.gethostname()}"
        self.version = version

    def find_header(self, image: DaqImage) -> HeaderRef | None:
        """The header service's file for ``image`` where it writes them, if it is there."""
        path = header_path(self.header_root, image.dayobs, image.name)
        return HeaderRef(path) if path.is_file() else None

    def pending(self) -> list[tuple[DaqImage, str]]:
        """CCDs the DAQ holds that are neither archived nor given up on, oldest first."""
        return self.daq.pending()

    def archive_ccd(self, image: DaqImage, detector: str, header: HeaderRef | None) -> Outcome:
        """Archive one CCD (idempotent: a CCD already catalogued is not written again)."""
        raft, sensor = detector.split("_")
        existing = self.catalog.get(image.name, raft, sensor)
        if existing is not None:
            recovered = self.daq.ccd_state(image.name, detector) == CcdState.NEW
            self.daq.mark(image.name, detector, CcdState.ARCHIVED)
            return Outcome(
                image.name,
                raft,
                sensor,
                ARCHIVED,
                f"archived {existing.path}",
                existing.byte_size,
                recovered=recovered,
            )
        try:
            raw = self.daq.read_raw(image.name, detector)
        except DaqCorruptError as err:
            self.daq.mark(image.name, detector, CcdState.FAILED)
            return Outcome(image.name, raft, sensor, DAQ_DATA_BAD, f"DAQ data unusable: {err}")
        cards, header_md5, note = self._header_cards(header)
        path = archive_path(self.root, image, detector)
        hdus = assemble(
            raw,
            cards,
            {
                "OBSID": image.name,
                "INSTRUME": image.instrument,
                "DAYOBS": image.dayobs,
                "SEQNUM": image.number,
                "RAFTBAY": raft,
                "CCDSLOT": sensor,
                "DETNAME": detector,
                "GROUPID": image.group_id,
                "ORIGIN": "dmcs Archiver",
                "ARCHVER": self.version,
                "DAQMD5": self.daq.ccd_md5(image.name, detector),
            },
        )
        try:
            md5, size = write_atomically(hdus, path)
        except OSError as err:
            return Outcome(
                image.name, raft, sensor, WRITE_FAILED, f"cannot write {path}: {err.strerror}"
            )
        record = RawRecord(
            obsid=image.name,
            raft=raft,
            sensor=sensor,
            instrument=image.instrument,
            dayobs=image.dayobs,
            seqnum=image.number,
            image_type=image.image_type,
            group_id=image.group_id,
            visit=image.visit,
            snap=image.snap,
            exposure_time=image.exposure_time,
            date_obs=image.date_obs,
            path=str(path),
            byte_size=size,
            md5=md5,
            daq_md5=str(hdus[0].header["DAQMD5"]),
            header_url=header.url if header and cards is not None else "",
            header_md5=header_md5,
            archiver=self.provenance,
            archiver_version=self.version,
            archived_at=current_tai(),
        )
        newly = self.catalog.register(record)
        self.daq.mark(image.name, detector, CcdState.ARCHIVED)
        return Outcome(image.name, raft, sensor, ARCHIVED, f"archived {path}{note}", size, newly)

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
