"""Waiting for a child server process (registry, InfluxDB, Prometheus) to answer.

One loop for all of them, so a child that dies or never answers is reported the same way:
with the end of its log, and killed if it overran.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

_LOG_TAIL = 1200


def wait_until_ready(ready: Callable[[], bool], proc: subprocess.Popen[bytes], *, what: str,
                     url: str, log_path: Path, timeout: float,
                     error: type[Exception]) -> None:
    """Return once `ready()`; raise `error` naming `what` and its log if it died or overran."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-_LOG_TAIL:]
            raise error(f"{what} exited with code {proc.returncode}; log {log_path}:\n{tail}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise error(f"{what} did not answer at {url} within {timeout:.0f} s; "
                        f"log {log_path}")
        time.sleep(0.05)
