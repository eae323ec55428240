"""What a service CSC does in the background while ENABLED: listen to other components and
report at a steady cadence, stopped without ever hanging a state change.

Starting Remotes creates topics, which can take seconds, so it happens in the background
task and not inside `enable` (what is published meanwhile is read as history). Stopping
gives the task and then each Remote a bounded time: a state change, and so a `disable` or a
`fault()`, never waits on a broker call that does not end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from dmcs.sal.remote import Remote

#: Each step of stopping (the task, each Remote) is given this long.
STOP_TIMEOUT_S = 10.0


class ListenAndReport:
    """Remotes started in the background (if any), then `report()` every `interval_s` until
    stopped."""

    def __init__(self, log: logging.Logger, remotes: list[Remote],
                 report: Callable[[], Awaitable[None]], interval_s: float,
                 stop_timeout_s: float = STOP_TIMEOUT_S) -> None:
        self.log = log
        self.remotes = remotes
        self.report = report
        self.interval_s = interval_s
        self.stop_timeout_s = stop_timeout_s
        self._task = asyncio.create_task(self._run())
        self._task.add_done_callback(self._log_failure)

    async def _run(self) -> None:
        await asyncio.gather(*(remote.start() for remote in self.remotes))
        while True:
            await self.report()
            await asyncio.sleep(self.interval_s)

    def _log_failure(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.log.error("background listening stopped: %r", task.exception())

    async def stop(self) -> None:
        """Cancel the task and close every Remote (a start cut short left readers too)."""
        self._task.cancel()
        if not await self._ended(self._task):
            self.log.warning("background task still running %g s after cancel",
                             self.stop_timeout_s)
        for remote in self.remotes:
            if not await self._ended(asyncio.ensure_future(remote.close())):
                self.log.warning("closing the %s remote took over %g s", remote.name,
                                 self.stop_timeout_s)

    async def _ended(self, task: asyncio.Future[None]) -> bool:
        """Whether `task` ended in time (asyncio.wait: a task that ignores its cancellation
        cannot hold us, as it would inside asyncio.wait_for)."""
        done, _ = await asyncio.wait([task], timeout=self.stop_timeout_s)
        return bool(done)
