"""Rendered raw snaps on disk, reused across runs: the camera's pixels are made once.

Rendering a 4k CCD snap costs ~1.5 s of CPU; reading it back costs a file copy. An entry is
keyed by everything that decides its pixels: the simulator's code (a digest of the modules
that draw them), the camera model, the sky's parameters and seed, and what was taken (a
science visit and snap, or a calibration kind, exposure number and time) on which detector.
Layout under ``root``::

    <key[:2]>/<key>.npy     the DAQ store's format (``raw_format``)
    <key[:2]>/<key>.json    md5, CRC-32 and size of the .npy, header metadata, WCS header

Both are written to a temporary name and renamed, the .json last, so an entry exists only
once complete; two processes rendering the same entry write the same bytes. Beyond
``max_bytes`` the least recently used entries are removed.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from dmcs.payloads import seeds
from dmcs.payloads.camera import camera, focal_plane, sky
from dmcs.payloads.camera.camera import CameraSimulator, RawExposure
from dmcs.payloads.camera.focal_plane import Detector
from dmcs.payloads.camera.raw_format import (
    raw_bytes,
    raw_crc32,
    raw_from_bytes,
    raw_metadata,
    raw_wcs,
    read_raw_file,
)
from dmcs.payloads.characterize import psf

#: The modules whose code decides a raw's pixels: a change to any of them is a new key.
PIXEL_MODULES = (camera, focal_plane, sky, psf, seeds)
DEFAULT_MAX_BYTES = 20 * 10**9


@cache
def simulator_digest() -> str:
    digest = hashlib.sha256()
    for module in PIXEL_MODULES:
        digest.update(inspect.getsource(module).encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class RenderedSnap:
    """One cached raw CCD: its file and what the DAQ store records beside it."""

    path: Path
    md5: str
    crc32: int
    nbytes: int
    metadata: str
    wcs: str

    def raw(self) -> RawExposure:
        return raw_from_bytes(read_raw_file(self.path), self.metadata, self.wcs)


class RenderCache:
    """Raw snaps of one simulator, rendered on first use and kept under ``root``."""

    def __init__(
        self, root: Path, simulator: CameraSimulator, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.root = Path(root)
        self.simulator = simulator
        self.max_bytes = max_bytes
        self._universe = {
            "code": simulator_digest(),
            "model": asdict(simulator.model),
            "sky": asdict(simulator.sky.parameters),
            "seed": simulator.seed,
        }

    def key(self, *what: str | int | float) -> str:
        text = json.dumps({**self._universe, "what": list(what)}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def science_key(self, visit: int, detector: Detector, snap: int) -> str:
        return self.key("science", visit, detector.name, snap)

    def calibration_key(self, kind: str, exposure: int, detector: Detector, exptime: float) -> str:
        return self.key(kind, exposure, detector.name, exptime)

    def _paths(self, key: str) -> tuple[Path, Path]:
        folder = self.root / key[:2]
        return folder / f"{key}.npy", folder / f"{key}.json"

    def get(self, key: str) -> RenderedSnap | None:
        """The entry, if complete (one written before CRCs were recorded is not: it is rendered
        again); reading it marks it recently used."""
        data_path, index_path = self._paths(key)
        try:
            index = json.loads(index_path.read_text())
            snap = RenderedSnap(data_path, index["md5"], index["crc32"], index["nbytes"],
                                index["metadata"], index["wcs"])
            os.utime(index_path)
        except (OSError, ValueError, KeyError):
            return None
        return snap

    def put(self, key: str, raw: RawExposure) -> RenderedSnap:
        data = raw_bytes(raw)
        data_path, index_path = self._paths(key)
        data_path.parent.mkdir(parents=True, exist_ok=True)
        rendered = RenderedSnap(data_path, hashlib.md5(data).hexdigest(), raw_crc32(data),
                                len(data), raw_metadata(raw), raw_wcs(raw))
        index = {
            "md5": rendered.md5,
            "crc32": rendered.crc32,
            "nbytes": rendered.nbytes,
            "metadata": rendered.metadata,
            "wcs": rendered.wcs,
        }
        _write_atomically(data_path, data)
        _write_atomically(index_path, json.dumps(index).encode())
        self.prune()
        return rendered

    def science_snap(self, visit: int, detector: Detector, snap: int) -> RenderedSnap:
        key = self.science_key(visit, detector, snap)
        cached = self.get(key)
        if cached is not None:
            return cached
        return self.put(key, self.simulator.science_snap(visit, detector, snap))

    def calibration(
        self, kind: str, exposure: int, detector: Detector, exptime: float
    ) -> RenderedSnap:
        key = self.calibration_key(kind, exposure, detector, exptime)
        cached = self.get(key)
        if cached is not None:
            return cached
        raw = self.simulator.calibration_exposure(kind, exposure, detector, exptime)
        return self.put(key, raw)

    def _entries(self) -> Iterator[tuple[float, int, Path, Path]]:
        """(last used, bytes, .npy, .json) of every complete entry."""
        for index_path in self.root.glob("??/*.json"):
            data_path = index_path.with_suffix(".npy")
            try:
                yield index_path.stat().st_mtime, data_path.stat().st_size, data_path, index_path
            except OSError:
                continue

    def prune(self) -> None:
        """Remove the least recently used entries until the cache holds ``max_bytes``."""
        entries = sorted(self._entries())
        total = sum(size for _, size, _, _ in entries)
        for _, size, data_path, index_path in entries:
            if total <= self.max_bytes:
                return
            index_path.unlink(missing_ok=True)
            data_path.unlink(missing_ok=True)
            total -= size


class CachedSnaps(CameraSimulator):
    """The camera simulator whose science snaps come from a render cache (made if missing)."""

    def __init__(self, cache: RenderCache) -> None:
        simulator = cache.simulator
        super().__init__(simulator.model, simulator.sky, simulator.seed)
        self.cache = cache

    def science_snap(self, visit: int, detector: Detector, snap: int) -> RawExposure:
        return self.cache.science_snap(visit, detector, snap).raw()


def _write_atomically(path: Path, data: bytes | memoryview) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as stream:
        stream.write(data)
    os.replace(tmp, path)
