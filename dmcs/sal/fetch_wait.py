"""Changing a running aiokafka consumer's broker wait: the one place dmcs touches its internals.

aiokafka fixes `fetch_max_wait_ms` when a consumer is built, but its fetcher reads the value
again for every request. Readers poll fast while traffic flows and relax when idle (the
embedded broker never answers a waiting fetch early), so they change it in place here.
`tests/sal/test_fetch_wait.py` fails if an aiokafka release renames the attribute; then
`set_fetch_max_wait` returns False and readers keep their initial wait (slower, still right).
"""

from __future__ import annotations

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
