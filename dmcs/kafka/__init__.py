"""Apache Kafka 4 (KRaft) as a real component: fetched jars, nodes, clusters, security, drills.

`find_distribution()` locates Java and the jars `make kafka-dist` fetched; `KafkaCluster`
runs one or more combined broker+controller nodes on loopback (or in network namespaces for
partition drills), optionally with SASL/SCRAM users, prefix ACLs and a TLS listener;
`dmcs.kafka.shared` keeps the machine's one shared node for `dmcs broker`.
"""

from dmcs.kafka.cluster import KafkaCluster
from dmcs.kafka.distribution import (
    KafkaDistribution,
    KafkaDistributionError,
    find_distribution,
    kafka_available,
)
from dmcs.kafka.node import KafkaNode, KafkaNodeError
from dmcs.kafka.probe import PartitionState
from dmcs.kafka.security import ClusterSecurity, ServiceUser, site_users

__all__ = [
    "ClusterSecurity",
    "KafkaCluster",
    "KafkaDistribution",
    "KafkaDistributionError",
    "KafkaNode",
    "KafkaNodeError",
    "PartitionState",
    "ServiceUser",
    "find_distribution",
    "kafka_available",
    "site_users",
]
