"""Checking the archive against its Butler repository: the figures a night report needs.

Every raw the Butler knows must be a file that exists, passes its FITS checksums and is the
CCD its data ID says (OBSID and DETNAME in its header); every FITS file under the archive's
instrument folder must be the artifact of exactly one raw (a file nobody ingested is a
duplicate or a leftover, both bugs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from astropy.io import fits
from lsst.daf.butler import Butler, DatasetRef

from dmcs.butler.instrument import INSTRUMENT, science_detectors
from dmcs.butler.raws import all_raws
from dmcs.services.archiver.raw_fits import ChecksumError, verify


@dataclass
class Audit:
    """The archive against its Butler: counts, and every file that is wrong and why."""

    records: int = 0
    files: int = 0
    checksum_failures: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)
    uncatalogued_files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.checksum_failures or self.missing_files or self.uncatalogued_files)


def _identity_problem(path: Path, ref: DatasetRef, names: dict[int, str]) -> str | None:
    """Why the file is not the CCD its data ID names, or None."""
    header = fits.getheader(path, 0)
    exposure = ref.dataId.records["exposure"]
    obs_id = exposure.obs_id if exposure is not None else None
    detector = names[int(ref.dataId["detector"])]
    if (header.get("OBSID"), header.get("DETNAME")) != (obs_id, detector):
        return (f"{path}: holds {header.get('OBSID')} {header.get('DETNAME')}, "
                f"the Butler says {obs_id} {detector}")
    return None


def audit_archive(butler: Butler, root: Path) -> Audit:
    """Verify every raw's file and look for files under ``root`` the Butler does not know."""
    result = Audit()
    names = {d.id: d.full_name for d in science_detectors()}
    ingested = set()
    for ref, uris in butler.get_many_uris(all_raws(butler)).items():
        result.records += 1
        path = Path(uris.primaryURI.ospath) if uris.primaryURI else Path()
        ingested.add(path.resolve())
        if not path.is_file():
            result.missing_files.append(str(path))
            continue
        try:
            verify(path)
        except ChecksumError as err:
            result.checksum_failures.append(str(err))
            continue
        problem = _identity_problem(path, ref, names)
        if problem:
            result.checksum_failures.append(problem)
    on_disk = sorted(p.resolve() for p in (Path(root) / INSTRUMENT).rglob("*.fits"))
    result.files = len(on_disk)
    result.uncatalogued_files = [str(p) for p in on_disk if p not in ingested]
    return result
