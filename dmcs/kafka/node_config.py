"""What one KRaft node of a cluster is: its id, addresses and `server.properties`.

Every node here is a combined broker + controller (`process.roles=broker,controller`), as a
small cluster runs; the controllers of all nodes form the quorum (static voters). The broker
is tuned for tests and a night on one small machine: few threads, a small log-cleaner buffer,
small segments, no initial rebalance delay, replication sized to the cluster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

BROKER_LISTENER = "BROKER"
CONTROLLER_LISTENER = "CONTROLLER"
TLS_LISTENER = "TLS"


@dataclass(frozen=True)
class NodeAddress:
    """Where a node listens: clients and other brokers on `port`, the quorum on `controller_port`.

    `tls_port` is set when the node also has a TLS listener (a secure cluster's option).
    """

    node_id: int
    host: str
    port: int
    controller_port: int
    tls_port: int | None = None

    @property
    def bootstrap_server(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def tls_bootstrap_server(self) -> str | None:
        return None if self.tls_port is None else f"{self.host}:{self.tls_port}"

    @property
    def voter(self) -> str:
        """This node in `controller.quorum.voters` (`id@host:port`)."""
        return f"{self.node_id}@{self.host}:{self.controller_port}"


def replication_factor(cluster_size: int) -> int:
    """Topics get three replicas where there are three nodes, else one per node."""
    return min(3, cluster_size)


def min_insync_replicas(cluster_size: int) -> int:
    """Two in-sync replicas before an acks=all write counts, when there are three copies.

    So one node may be lost without losing a write or refusing one.
    """
    return 2 if replication_factor(cluster_size) >= 3 else 1


def node_properties(
    node: NodeAddress,
    voters: Sequence[NodeAddress],
    *,
    listener_protocols: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """`server.properties` of `node` in a cluster whose nodes are `voters` (but `log.dirs`,
    which the node sets to its own directory).

    `listener_protocols` maps listener names to security protocols (all PLAINTEXT without
    it); `extra` adds or overrides settings (security, a test's own tuning).
    """
    size = len(voters)
    replicas = replication_factor(size)
    protocols = dict(listener_protocols or {BROKER_LISTENER: "PLAINTEXT",
                                            CONTROLLER_LISTENER: "PLAINTEXT"})
    listeners = {BROKER_LISTENER: node.port, CONTROLLER_LISTENER: node.controller_port}
    if node.tls_port is not None:
        listeners[TLS_LISTENER] = node.tls_port
    advertised = {name: port for name, port in listeners.items() if name != CONTROLLER_LISTENER}
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.voters": ",".join(v.voter for v in voters),
        "listeners": _listener_list(node.host, listeners),
        "advertised.listeners": _listener_list(node.host, advertised),
        "controller.listener.names": CONTROLLER_LISTENER,
        "inter.broker.listener.name": BROKER_LISTENER,
        "listener.security.protocol.map": ",".join(f"{n}:{p}" for n, p in protocols.items()),
        # Replication sized to the cluster: one node may go without losing an acks=all write.
        "default.replication.factor": str(replicas),
        "min.insync.replicas": str(min_insync_replicas(size)),
        "offsets.topic.replication.factor": str(replicas),
        "transaction.state.log.replication.factor": str(replicas),
        "transaction.state.log.min.isr": str(min_insync_replicas(size)),
        "unclean.leader.election.enable": "false",
        # A dead broker is fenced (its partitions get new leaders) after 6 s, not 9 s.
        "broker.heartbeat.interval.ms": "1000",
        "broker.session.timeout.ms": "6000",
        # dmcs creates its topics explicitly; a misspelt topic is an error, not a new topic.
        "auto.create.topics.enable": "false",
        "num.partitions": "1",
        # A consumer group forms at once (the default waits 3 s for more members).
        "group.initial.rebalance.delay.ms": "0",
        # Small internal topics: a group's first commit creates __consumer_offsets quickly.
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.num.partitions": "4",
        # Small segments and a small cleaner buffer (default 128 MiB of a 512 MiB heap).
        "log.segment.bytes": str(16 * 1024 * 1024),
        "log.cleaner.dedupe.buffer.size": str(8 * 1024 * 1024),
        "log.cleaner.threads": "1",
        # Few threads: two cores are shared by every node, the services and the tests.
        "num.network.threads": "2",
        "num.io.threads": "2",
        "background.threads": "2",
        "num.replica.fetchers": "1",
        "num.recovery.threads.per.data.dir": "1",
        "share.coordinator.state.topic.replication.factor": str(replicas),
        "share.coordinator.state.topic.min.isr": str(min_insync_replicas(size)),
    }
    props.update(extra or {})
    return props


def _listener_list(host: str, listeners: Mapping[str, int]) -> str:
    return ",".join(f"{name}://{host}:{port}" for name, port in listeners.items())


def write_properties(path: Path, props: Mapping[str, str]) -> None:
    """Write a Java properties file (values here never hold newlines)."""
    path.write_text("".join(f"{key}={value}\n" for key, value in props.items()))


def log4j_config(log_path: Path) -> str:
    """log4j2 settings that send the node's whole log to one file, INFO and up."""
    return "\n".join([
        "status = warn",
        "appender.file.type = File",
        "appender.file.name = file",
        f"appender.file.fileName = {log_path}",
        "appender.file.layout.type = PatternLayout",
        "appender.file.layout.pattern = [%d] %p %m (%c)%n",
        "rootLogger.level = INFO",
        "rootLogger.appenderRef.file.ref = file",
        # The state-change and request logs are the noisiest and say nothing a drill needs.
        "logger.statechange.name = state.change.logger",
        "logger.statechange.level = WARN",
        "",
    ])
