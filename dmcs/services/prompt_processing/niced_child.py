"""One piece of work in a forked child, below the DM path's CPU priority.

A warm rank writes a CCD's big outputs (tile-compressed calexp and diffim: ~2 s of CPU per
4k CCD) after the CCD's result is sent. Written by the rank itself, they take the CPU at the
rank's priority from the next CCD and from the service associating and sending this visit's
alerts. A forked child shares the rank's memory (copy-on-write: no pixels are copied) and can
lower its own priority — which an unprivileged process cannot raise again, hence a child
that ends with the work.
"""

from __future__ import annotations

import json
import os
import select
import traceback
from collections.abc import Callable
from typing import Any


class ChildFailed(RuntimeError):
    """The child raised, or was killed, before it returned a result."""


class NicedChild:
    """``work()`` (returning something JSON can carry) run in a child at ``niceness``."""

    def __init__(self, work: Callable[[], Any], niceness: int) -> None:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child's coverage is not collected
            os.close(read)
            _run_child(work, niceness, write)
        os.close(write)
        self.pid = pid
        self._read = read
        self._outcome: dict[str, Any] | None = None

    def done(self, timeout: float = 0.0) -> bool:
        """Whether the child has finished, waiting up to ``timeout`` seconds for it."""
        if self._outcome is None:
            readable, _, _ = select.select([self._read], [], [], timeout)
            if not readable:
                return False
            self._outcome = self._collect()
        return True

    def outcome(self) -> Any:
        """What ``work()`` returned (waits for the child); ChildFailed if it did not."""
        while not self.done(1.0):
            pass
        assert self._outcome is not None
        if "error" in self._outcome:
            raise ChildFailed(self._outcome["error"])
        return self._outcome["result"]

    def _collect(self) -> dict[str, Any]:
        chunks = []
        while chunk := os.read(self._read, 65536):
            chunks.append(chunk)
        os.close(self._read)
        _, status = os.waitpid(self.pid, 0)
        if os.WIFSIGNALED(status):
            return {"error": f"child {self.pid} killed by signal {os.WTERMSIG(status)}"}
        try:
            outcome: dict[str, Any] = json.loads(b"".join(chunks))
        except ValueError:
            return {"error": f"child {self.pid} exited {os.waitstatus_to_exitcode(status)} "
                             "without a result"}
        return outcome


def _run_child(work: Callable[[], Any], niceness: int, write: int) -> None:
    """In the child: lower the priority, work, hand the outcome back, exit without cleanup
    (the parent's atexit handlers, buffers and connections are the parent's)."""
    code = 1
    try:
        os.nice(niceness)
        payload = json.dumps({"result": work()})
        code = 0
    except BaseException:  # whatever happened, the parent must hear it
        payload = json.dumps({"error": traceback.format_exc()})
    try:
        with os.fdopen(write, "w") as out:
            out.write(payload)
    finally:
        os._exit(code)
