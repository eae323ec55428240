"""Deterministic random streams.

Every random draw is keyed by *what* is being simulated (visit, detector, snap, sky cell) and
never by process state, so a CCD simulates identically whichever MPI rank processes it.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream_key(purpose: str) -> int:
    """A stable integer for a purpose name (Python's ``hash`` is salted per process)."""
    return zlib.crc32(purpose.encode())


def rng_for(seed: int, purpose: str, *keys: int) -> np.random.Generator:
    """A generator that depends only on the base seed, the purpose and the integer keys."""
    entropy = [seed & 0xFFFFFFFF, stream_key(purpose), *(int(k) & 0xFFFFFFFFFFFF for k in keys)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
