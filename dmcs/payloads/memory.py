"""Keeping freed memory in the process, so a CCD's large temporaries cost no page faults.

A 4k CCD's planes are 67 MB each. glibc serves every allocation above 32 MB with a fresh
mmap and gives it back to the kernel when freed, so each temporary plane is faulted in and
zero-filled by the kernel page by page, every time: ~2.5 s of system time per 4k CCD,
measured (``benchmarks/alert_production.py``). With mmap off for large blocks and no trimming
of the heap, a freed plane is reused as it is by the next one. The price: the process keeps
its peak footprint (~2 GB for a 4k CCD) between CCDs. Only glibc has ``mallopt``; elsewhere
this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util

#: glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_MAX = -4
KEPT_BYTES = 2**31 - 1
TOP_PAD_BYTES = 64 * 2**20


def keep_freed_memory() -> bool:
    """Tell malloc to keep freed memory for reuse; whether this C library could."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return False
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    settings = ((M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, KEPT_BYTES), (M_TOP_PAD, TOP_PAD_BYTES))
    return all(mallopt(parameter, value) == 1 for parameter, value in settings)
