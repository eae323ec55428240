"""Helpers that make service tests short (in the spirit of salobj's test helpers)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from dmcs.sal.remote import Remote
from dmcs.sal.topics.reader import TopicReader
from dmcs.state_machines.summary_state import State

STD_TIMEOUT = 10.0


def unique_subname(prefix: str = "test") -> str:
    """A topic subname no other run uses, so runs never see each other's messages."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


async def assert_next_sample(
    reader: TopicReader, *, flush: bool = False, timeout: float = STD_TIMEOUT, **expected: Any
) -> Any:
    """Wait for the next sample of `reader` and check the given fields; return it."""
    sample = await reader.next(flush=flush, timeout=timeout)
    wrong = {k: (getattr(sample, k), v) for k, v in expected.items() if getattr(sample, k) != v}
    if wrong:
        details = ", ".join(f"{k}={got!r} (expected {want!r})" for k, (got, want) in wrong.items())
        raise AssertionError(f"{reader.name}: {details}")
    return sample


async def assert_next_summary_state(
    remote: Remote, state: State, *, flush: bool = False, timeout: float = STD_TIMEOUT
) -> Any:
    """Wait for the next summaryState of `remote` and check it is `state`."""
    sample = await remote.evt("summaryState").next(flush=flush, timeout=timeout)
    got = State(sample.summaryState)
    if got != state:
        raise AssertionError(f"{remote.name} summaryState is {got.name}, expected {state.name}")
    return sample


async def walk_to_enabled(remote: Remote) -> None:
    """Command a CSC from STANDBY to ENABLED."""
    await remote.cmd("start").start()
    await remote.cmd("enable").start()


async def wait_for_sample(
    reader: TopicReader, *, timeout: float = STD_TIMEOUT, **expected: Any
) -> Any:
    """The latest or a coming sample whose fields equal `expected` (queue is consumed)."""
    sample = reader.get()
    deadline = asyncio.get_running_loop().time() + timeout
    while sample is None or any(getattr(sample, k) != v for k, v in expected.items()):
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise AssertionError(f"{reader.name}: no sample with {expected}; last: {sample}")
        try:
            sample = await reader.next(flush=False, timeout=remaining)
        except TimeoutError:
            continue
    return sample
