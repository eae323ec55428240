"""The Kafka fixtures (until the suite's conftest registers `dmcs.testing.kafka_fixtures`)."""

from dmcs.testing.kafka_fixtures import (  # noqa: F401
    kafka_broker,
    kafka_cluster,
    kafka_distribution,
    secure_kafka_cluster,
)
