"""Alert filtering (LDM-148 §6.1.6): a user's filter over the stream, matches to their topic.

Live (``follow``: from the stream's beginning, then as alerts arrive) or over what the topic
holds now. A malformed message is logged, counted and skipped; a packet the filter cannot be
evaluated on is logged, counted and skipped; the filter goes on either way.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from dmcs.alerts.broker_consumer import BrokerConsumer, MalformedAlert
from dmcs.alerts.expression import AlertFilter, FilterError
from dmcs.alerts.publisher import AlertPublisher

log = logging.getLogger(__name__)


@dataclass
class FilterCounts:
    read: int = 0
    matched: int = 0
    malformed: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def run_filter(consumer: BrokerConsumer, alert_filter: AlertFilter, publisher: AlertPublisher,
               *, follow: bool = False, idle_s: float | None = None) -> FilterCounts:
    """Publish every alert that matches; what was read, matched, malformed, failed."""
    counts = FilterCounts()
    for item in consumer.messages(follow, idle_s):
        if isinstance(item, MalformedAlert):
            counts.malformed += 1
            log.warning("skipped a malformed message: %s", item)
            continue
        counts.read += 1
        try:
            matched = alert_filter.matches(item.packet)
        except FilterError as error:
            counts.failed += 1
            log.warning("skipped: %s", error)
            continue
        if matched:
            counts.matched += 1
            publisher.publish_framed(item.raw)
    publisher.close()
    return counts
