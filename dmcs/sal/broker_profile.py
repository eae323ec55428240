"""What dmcs does differently for the broker it talks to: the one place broker quirks live.

Apache Kafka (the observatory's) answers a waiting fetch as soon as data arrives, keeps its
logs across restarts and has idempotent producers: readers long-poll, writers are idempotent,
nothing else is needed. Tansu (the no-Java fallback broker) never answers a waiting fetch
early, keeps its logs in memory only, reports the last batch's base offset + 1 as a
partition's end and has no idempotent producer: readers poll fast only while traffic is
expected and back off when idle, end offsets are confirmed by reading, and logs are watched
for a restart that emptied them.
"""

from __future__ import annotations

from dataclasses import dataclass

from dmcs.sal.config import BrokerKind


@dataclass(frozen=True)
class BrokerProfile:
    """How readers and writers behave on one kind of broker."""

    kind: BrokerKind
    #: Writers of commands, acks and events are idempotent (no duplicate on a retry).
    idempotent: bool
    #: The broker wait of a fetch while traffic is expected, and the longest when idle.
    busy_wait_ms: int
    idle_wait_ms: int
    #: Fetches wait `busy_wait_ms` while traffic is expected, growing to `idle_wait_ms`
    #: when nothing came (a broker that never answers a waiting fetch early).
    adaptive_waits: bool
    #: End offsets must be confirmed by reading the last batch.
    confirm_end_offsets: bool
    #: Logs may vanish (memory-only broker restarted): watch for it and rebuild.
    watch_lost_logs: bool
    #: A bulk reader (the EFD writer) asks the broker to hold a fetch until `bulk_min_bytes`
    #: arrived or `bulk_wait_ms` passed: a trickle of heartbeats then costs a fetch or two a
    #: second instead of one per message, and a burst still fills a fetch at once. A broker
    #: that never answers early gets a short wait while messages pour in, growing to
    #: `bulk_idle_wait_ms` while they trickle (None: the wait stays `bulk_wait_ms`).
    bulk_wait_ms: int
    bulk_min_bytes: int
    bulk_idle_wait_ms: int | None = None
    #: A request to a node that went silent (cut off, frozen) is given up and retried on the
    #: partition's new leader after this long. aiokafka's 40 s would hold every write behind
    #: it (heartbeats included) that long; a cluster elects a new leader within ~10 s.
    request_timeout_ms: int = 40_000


KAFKA = BrokerProfile("kafka", idempotent=True, busy_wait_ms=500, idle_wait_ms=500,
                      adaptive_waits=False, confirm_end_offsets=False, watch_lost_logs=False,
                      bulk_wait_ms=1000, bulk_min_bytes=64 * 1024,
                      request_timeout_ms=8000)
TANSU = BrokerProfile("tansu", idempotent=False, busy_wait_ms=2, idle_wait_ms=400,
                      adaptive_waits=True, confirm_end_offsets=True, watch_lost_logs=True,
                      bulk_wait_ms=50, bulk_min_bytes=1, bulk_idle_wait_ms=500)


def broker_profile(kind: BrokerKind) -> BrokerProfile:
    return TANSU if kind == "tansu" else KAFKA
