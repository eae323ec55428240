"""Readers that come and go in one process: a Remote starts promptly while another closes.

A Remote closing changes the process's consumer assignment, and aiokafka then tracks only
the topics assigned: the topics a Remote being started still needed (for their end offsets)
dropped out of the consumer's metadata and were learned again one at a time, behind a 500 ms
fetch each, so a Remote of a few dozen topics gave up after the request timeout (8 s). Here
each Remote starts while another one closes, at several moments of its start.
"""

from __future__ import annotations

import asyncio
import time

from dmcs.sal.controller import Controller
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import MT_CAMERA, TEST
from dmcs.sal.remote import Remote

#: When, after a Remote began to start, another Remote closes (s).
CLOSE_AFTER = (0.0, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0)
#: A start that learnt its topics one by one took 8 s or failed; a good one takes ~1-2 s.
SLOW_START_S = 6.0


async def test_a_remote_starts_promptly_while_another_closes(domain: Domain) -> None:
    camera, test = Controller(domain, MT_CAMERA, 0), Controller(domain, TEST, 1)
    await asyncio.gather(camera.start(), test.start())
    events = list(MT_CAMERA.events)
    starts = []
    for delay in CLOSE_AFTER:
        closing = Remote(domain, TEST, 1)
        await closing.start()
        starting = Remote(domain, MT_CAMERA, 0, include=events)
        began = time.monotonic()
        start = asyncio.create_task(starting.start())
        await asyncio.sleep(delay)
        await closing.close()
        await start
        starts.append(round(time.monotonic() - began, 2))
        await starting.close()
    await asyncio.gather(camera.close(), test.close())
    assert max(starts) < SLOW_START_S, f"Remote starts (s), by when the other closed: {starts}"
