"""The one place dmcs touches aiokafka's internals: a running consumer's broker wait, and
the topics its metadata tracks.

aiokafka fixes `fetch_max_wait_ms` when a consumer is built, but its fetcher reads the value
again for every request. On Tansu (which never answers a waiting fetch early) readers poll
fast while traffic is expected and relax when idle, so they change it in place here.
A consumer asked for the end offsets of topics its metadata does not track learns them one
per metadata refresh (each behind a fetch's broker wait: a few dozen topics outlast the
request timeout); `track_topics` adds them first. Assigning partitions makes the consumer
track only the assigned topics, so topics still being prepared are tracked again after each
assignment (`keep_tracking`).
`tests/sal/test_aiokafka_internals.py` fails if an aiokafka release renames these; then
`set_fetch_max_wait` returns False and readers keep their initial wait (slower, still right),
and `track_topics` does nothing (slower starts, still right).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer

_FETCHER = "_fetcher"
_WAIT = "_fetch_max_wait_ms"


def set_fetch_max_wait(consumer: AIOKafkaConsumer, wait_ms: int) -> bool:
    """Make the consumer's next fetches wait up to `wait_ms` at the broker; False if unable."""
    fetcher = getattr(consumer, _FETCHER, None)
    if fetcher is None or not hasattr(fetcher, _WAIT):
        return False
    setattr(fetcher, _WAIT, wait_ms)
    return True


def fetch_max_wait(consumer: AIOKafkaConsumer) -> int | None:
    """The wait the consumer's next fetch will use (None if it cannot be read)."""
    fetcher = getattr(consumer, _FETCHER, None)
    value = getattr(fetcher, _WAIT, None)
    return int(value) if value is not None else None


def keep_tracking(consumer: AIOKafkaConsumer,
                  topics: list[str]) -> list[asyncio.Future[Any]] | None:
    """Add `topics` to those the consumer's metadata tracks; the futures are done once a
    metadata update included them (None if unable)."""
    client = getattr(consumer, "_client", None)
    add = getattr(client, "add_topic", None)
    if add is None:
        return None
    return [add(topic) for topic in topics]


async def track_topics(consumer: AIOKafkaConsumer, topics: list[str]) -> bool:
    """Have the consumer's metadata include `topics` now; False if unable."""
    futures = keep_tracking(consumer, topics)
    if futures is None:
        return False
    await asyncio.gather(*futures)
    return True
