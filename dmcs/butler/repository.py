"""The Data Backbone as a Butler repository: created on first use, with LSSTCam registered.

``open_repository(root, registry_url)`` is what every writer calls: it creates the repository
if there is none (``butler.yaml`` under ``root``), then makes sure the instrument, its 189
detectors, its filters, the dataset types and the fixed collections exist (idempotent, so any
number of archivers may start at once). ``Butler.from_config(root)`` (or the ``butler``
command) opens it afterwards like any Rubin repository, provided dmcs is importable: the
repository's configuration names our formatters and storage classes.

Layout under ``root``: ``butler.yaml``; ``gen3.sqlite3`` unless the registry is PostgreSQL;
the raws where the archiver wrote them (``LSSTCam/<dayobs>/<obsid>/…``, ingested in place);
everything put through the Butler under ``datastore/<run>/…``.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from lsst.daf.butler import Butler, CollectionType, Config, DatasetType

from dmcs.butler import collections, exposure_format, raw_format
from dmcs.butler.instrument import (
    INSTRUMENT,
    VISIT_SYSTEM,
    filter_records,
    instrument_record,
    science_detectors,
)
from dmcs.butler.registry_url import is_postgres, prepare_postgres, registry_db

CONFIG_FILE = "butler.yaml"
LOCK_FILE = ".dmcs-butler.lock"
RAW = "raw"
CALIBRATIONS = ("bias", "dark", "flat")
EXPOSURES = ("calexp", "diffim")
TABLES = ("src", "diasrc")
TABLE_STORAGE_CLASS = "ArrowNumpy"


def seed_config(root: Path, registry_url: str) -> Config:
    """What ``butler create`` is given: our registry, formatters and storage classes."""
    return Config({
        "registry": {"db": registry_db(root, registry_url)},
        "datastore": {
            "root": "<butlerRoot>/datastore",
            "formatters": {**raw_format.FORMATTERS, **exposure_format.FORMATTERS},
        },
        "storageClasses": {**raw_format.STORAGE_CLASSES, **exposure_format.STORAGE_CLASSES},
    })


def dataset_types(butler: Butler) -> list[DatasetType]:
    universe = butler.dimensions
    per_visit = ["instrument", "detector", "visit"]
    return [
        DatasetType(RAW, ["instrument", "detector", "exposure"], raw_format.STORAGE_CLASS,
                    universe=universe),
        *(DatasetType(kind, ["instrument", "detector"], exposure_format.STORAGE_CLASS,
                      universe=universe, isCalibration=True) for kind in CALIBRATIONS),
        *(DatasetType(name, per_visit, exposure_format.STORAGE_CLASS, universe=universe)
          for name in EXPOSURES),
        *(DatasetType(name, per_visit, TABLE_STORAGE_CLASS, universe=universe)
          for name in TABLES),
    ]


@contextlib.contextmanager
def _creation_lock(root: Path) -> Iterator[None]:
    """One process at a time creates and registers (two archivers starting together)."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / LOCK_FILE).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def open_repository(root: Path, registry_url: str = "") -> Butler:
    """A writeable Butler on the repository at ``root``, created and registered if need be.

    ValueError for a registry URL that is not supported; RegistryUnreachable (an OSError)
    when its server does not answer; both name the URL without its password.
    """
    root = Path(root).resolve()
    registry_db(root, registry_url)  # refuses an unsupported URL before anything is made
    with _creation_lock(root):
        if not (root / CONFIG_FILE).exists():
            if is_postgres(registry_url):
                prepare_postgres(registry_url)
            Butler.makeRepo(str(root), config=seed_config(root, registry_url),
                                forceConfigRoot=False)
        butler = Butler.from_config(str(root), writeable=True)
        _register(butler)
    return butler


def _register(butler: Butler) -> None:
    """The instrument and what never changes with the nights (each a no-op the second time)."""
    registry = butler.registry
    registry.syncDimensionData("instrument", instrument_record())
    registry.insertDimensionData("physical_filter", *filter_records(), skip_existing=True)
    registry.insertDimensionData(
        "detector", *(d.as_record() for d in science_detectors()), skip_existing=True)
    registry.syncDimensionData("visit_system", {
        "instrument": INSTRUMENT, "id": VISIT_SYSTEM[0], "name": VISIT_SYSTEM[1]})
    for dataset_type in dataset_types(butler):
        registry.registerDatasetType(dataset_type)
    registry.registerRun(collections.RAW_RUN)
    registry.registerCollection(collections.CALIBRATION, CollectionType.CALIBRATION)
    registry.registerCollection(collections.PROMPT, CollectionType.CHAINED)
    registry.registerCollection(collections.DEFAULTS, CollectionType.CHAINED)
    if not registry.getCollectionChain(collections.DEFAULTS):
        registry.setCollectionChain(
            collections.DEFAULTS,
            [collections.RAW_RUN, collections.CALIBRATION, collections.PROMPT])
