"""The night's alerts counted as a community broker reads them (``BrokerConsumer``).

The count is what reached the stream and decodes with the registry and lsst-alert-packet; it
includes alerts of visits caught up in daytime, so it is at least the night's reported total.
"""

from __future__ import annotations

import asyncio
import logging

from confluent_kafka import KafkaException

from dmcs.alerts.broker_consumer import BrokerConsumer, ReceivedAlert, librdkafka_security
from dmcs.sal.domain import Domain

log = logging.getLogger(__name__)


def _count(domain: Domain, topic: str) -> int:
    consumer = BrokerConsumer(domain.bootstrap_servers, domain.registry_url, topic,
                              librdkafka_security(domain.config.security))
    try:
        return sum(isinstance(item, ReceivedAlert) for item in consumer.messages())
    except KafkaException as error:
        log.warning("alert stream %s not readable: %s", topic, error)
        return 0
    finally:
        consumer.close()


async def alerts_consumed(domain: Domain, topic: str) -> int:
    """Alerts on ``topic`` from its beginning, decoded as a broker decodes them."""
    return await asyncio.to_thread(_count, domain, topic)
