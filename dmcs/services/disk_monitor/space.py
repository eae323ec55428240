"""Free space of a path, and whether it is low: plain Python, no messaging."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

GB = 1e9


@dataclass(frozen=True)
class Space:
    free_gb: float
    total_gb: float


def measure(path: str) -> Space:
    usage = shutil.disk_usage(path)
    return Space(free_gb=usage.free / GB, total_gb=usage.total / GB)
