"""Checking the archive against its catalog: the figures a night report needs.

Every catalogued file must exist and pass its FITS checksums and md5; every FITS file under
the archive root must be catalogued exactly once (a file nobody registered is a duplicate or
a leftover, both bugs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dmcs.services.archiver.catalog import Catalog
from dmcs.services.archiver.raw_fits import ChecksumError, verify


@dataclass
class Audit:
    """The archive against its catalog: counts, and every file that is wrong and why."""

    records: int = 0
    files: int = 0
    checksum_failures: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)
    uncatalogued_files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.checksum_failures or self.missing_files or self.uncatalogued_files)


def audit_archive(catalog: Catalog, root: Path) -> Audit:
    """Verify every catalogued file and look for files the catalog does not know."""
    result = Audit()
    catalogued = set()
    for record in catalog.records():
        result.records += 1
        path = Path(record.path)
        catalogued.add(path.resolve())
        if not path.is_file():
            result.missing_files.append(str(path))
            continue
        try:
            verify(path, record.md5)
        except ChecksumError as err:
            result.checksum_failures.append(str(err))
    on_disk = sorted(p.resolve() for p in Path(root).rglob("*.fits"))
    result.files = len(on_disk)
    result.uncatalogued_files = [str(p) for p in on_disk if p not in catalogued]
    return result
