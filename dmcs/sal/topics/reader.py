"""Reading one topic: latest value, bounded queue, waiting, callbacks, malformed-input count."""

from __future__ import annotations

import asyncio
import collections
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from dmcs.sal.interface import TopicSpec
from dmcs.sal.sample import SalSample

log = logging.getLogger(__name__)

DEFAULT_QUEUE_LEN = 100
QUEUE_WARN_FRACTION = 0.8

Callback = Callable[[Any], None] | Callable[[Any], Awaitable[None]]


class TopicReader:
    """Samples of one topic for one index (0 = every index).

    With a callback set, samples go to the callback (async callbacks run one at a time, in
    order); without one they wait in a queue for :meth:`next`. The queue is bounded: when it
    fills, the oldest sample is dropped and counted, and a warning is logged as it nears full.
    """

    def __init__(
        self,
        spec: TopicSpec,
        index: int,
        *,
        history: bool,
        queue_len: int = DEFAULT_QUEUE_LEN,
        callback: Callback | None = None,
    ) -> None:
        self.spec = spec
        self.index = index
        self.history = history
        self.queue_len = queue_len
        self.malformed = 0
        self.dropped = 0
        self._latest: Any = None
        self._queue: collections.deque[Any] = collections.deque()
        self._waiters: list[asyncio.Future[None]] = []
        self._warned = False
        self._callback: Callback | None = None
        self._callback_queue: asyncio.Queue[Any] | None = None
        self._callback_task: asyncio.Task[None] | None = None
        self.callback = callback

    @property
    def name(self) -> str:
        return self.spec.sal_name

    # --- user API -------------------------------------------------------------------------

    @property
    def callback(self) -> Callback | None:
        return self._callback

    @callback.setter
    def callback(self, func: Callback | None) -> None:
        if self._callback_task is not None:
            self._callback_task.cancel()
            self._callback_task = None
        self._callback = func
        self._queue.clear()
        if func is not None and inspect.iscoroutinefunction(func):
            self._callback_queue = asyncio.Queue()
            self._callback_task = asyncio.ensure_future(self._run_async_callbacks(func))
        else:
            self._callback_queue = None

    def get(self) -> Any:
        """The latest sample, or None if none has arrived."""
        return self._latest

    @property
    def has_data(self) -> bool:
        return self._latest is not None

    async def aget(self, timeout: float | None = None) -> Any:
        """The latest sample, waiting for the first one if none has arrived yet."""
        if self._latest is None:
            await self._wait(timeout)
        return self._latest

    async def next(self, *, flush: bool, timeout: float | None = None) -> Any:
        """The next queued sample (oldest first); `flush` discards older ones first.

        Raises TimeoutError if none arrives in `timeout` seconds.
        """
        if self._callback is not None:
            raise RuntimeError(f"{self.name} has a callback; next() is not available")
        if flush:
            self._queue.clear()
        while not self._queue:
            await self._wait(timeout)
        return self._queue.popleft()

    def flush(self) -> None:
        self._queue.clear()

    # --- called by the process's consumer (ConsumerHub) ---------------------------------

    def deliver(self, sample: SalSample) -> bool:
        """Take a sample if it is of our index (0: any); False if it is not ours."""
        if self.index != 0 and sample.salIndex != self.index:
            return False
        self._latest = sample
        if self._callback is not None:
            if self._callback_queue is not None:
                self._callback_queue.put_nowait(sample)
            else:
                self._call_sync(sample)
        else:
            self._enqueue(sample)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()
        return True

    def close(self) -> None:
        if self._callback_task is not None:
            self._callback_task.cancel()
        for waiter in self._waiters:
            waiter.cancel()

    # --- internals -----------------------------------------------------------------------

    async def _wait(self, timeout: float | None) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            raise TimeoutError(f"no {self.name} sample within {timeout} s") from None

    def _enqueue(self, sample: Any) -> None:
        if len(self._queue) >= self.queue_len:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(sample)
        filled = len(self._queue) >= self.queue_len * QUEUE_WARN_FRACTION
        if filled and not self._warned:
            log.warning("%s reader queue is %d/%d full; the oldest samples will be dropped",
                        self.name, len(self._queue), self.queue_len)
        self._warned = filled

    def _call_sync(self, sample: Any) -> None:
        assert self._callback is not None
        try:
            self._callback(sample)
        except Exception:
            log.exception("%s callback failed", self.name)

    async def _run_async_callbacks(self, func: Callback) -> None:
        assert self._callback_queue is not None
        while True:
            sample = await self._callback_queue.get()
            try:
                await func(sample)  # type: ignore[misc]
            except Exception:
                log.exception("%s callback failed", self.name)
