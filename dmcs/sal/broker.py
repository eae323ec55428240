"""Which broker dmcs starts when none is given: Apache Kafka where it can run, else Tansu.

Apache Kafka 4 (one KRaft node, :mod:`dmcs.kafka`) needs Java and the jars `make kafka-dist`
fetches; Tansu (:mod:`dmcs.sal.tansu`) needs nothing. `DMCS_BROKER_KIND` (or a caller's
`kind`) chooses. The embedded broker is the machine's shared one on a fixed loopback port
(started by the first process that needs it, whatever its kind); a private broker is one
test's, benchmark's or night's own, on a free port, stopped when it is done.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from dmcs.kafka import KafkaCluster, KafkaNodeError, find_distribution, kafka_available
from dmcs.kafka.distribution import KafkaDistributionError
from dmcs.kafka.shared import SharedNode, ensure_shared_node, shared_node, stop_shared_node
from dmcs.ports import free_port
from dmcs.sal.broker_process import (
    BrokerError,
    BrokerProcess,
    embedded_port,
    is_listening,
    runtime_dir,
)
from dmcs.sal.config import BROKER_KIND_ENV, BrokerKind
from dmcs.sal.tansu import ensure_embedded_tansu, start_private_tansu, stop_embedded_tansu
from dmcs.settings import settings

__all__ = [
    "BrokerError",
    "BrokerProcess",
    "KafkaUnavailableError",
    "default_broker_kind",
    "embedded_broker",
    "embedded_port",
    "ensure_embedded_broker",
    "free_port",
    "is_listening",
    "runtime_dir",
    "start_private_broker",
    "stop_embedded_broker",
]


class KafkaUnavailableError(BrokerError):
    """Kafka was asked for and cannot run here (no Java, or no jars); `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"{reason} (or choose the Tansu broker: {BROKER_KIND_ENV}=tansu)")
        self.reason = reason


def default_broker_kind() -> BrokerKind:
    """`DMCS_BROKER_KIND` if set, else Kafka where it can run here, else Tansu."""
    chosen = settings().environ.get(BROKER_KIND_ENV)
    if chosen in ("kafka", "tansu"):
        return chosen  # type: ignore[return-value]
    return "kafka" if kafka_available() else "tansu"


def _kafka(node: SharedNode, started: bool | None = None) -> BrokerProcess:
    return BrokerProcess(node.host, node.port, node.pid,
                         node.started if started is None else started, "kafka",
                         f"Apache Kafka {node.version}", node.log_path)


def embedded_broker() -> BrokerProcess | None:
    """What serves the embedded broker's port now, if anything."""
    node = shared_node()
    if node is not None:
        return _kafka(node, started=False)
    port = embedded_port()
    if not is_listening("127.0.0.1", port):
        return None
    pid_path = runtime_dir() / "broker.pid"
    pid = int(pid_path.read_text()) if pid_path.exists() else 0
    return BrokerProcess("127.0.0.1", port, pid, kind="tansu",
                         what="Tansu" if pid else "a program dmcs did not start",
                         log_path=runtime_dir() / "broker.log")


def ensure_embedded_broker(kind: BrokerKind | None = None) -> BrokerProcess:
    """The machine's shared broker, started (as `kind`, default :func:`default_broker_kind`)
    unless a broker of either kind already serves its port."""
    if (kind or default_broker_kind()) == "kafka":
        try:
            node = ensure_shared_node()
        except KafkaDistributionError as err:
            raise KafkaUnavailableError(str(err)) from None
        except KafkaNodeError as err:
            raise BrokerError(str(err).splitlines()[0]) from None
        if node is not None:
            return _kafka(node)
    running = embedded_broker()
    if running is not None:
        return running
    proc = ensure_embedded_tansu()
    return BrokerProcess(proc.host, proc.port, proc.pid, proc.started, "tansu", "Tansu",
                         runtime_dir() / "broker.log")


def stop_embedded_broker(kind: BrokerKind | None = None) -> bool:
    """Stop the shared broker dmcs started (of `kind`, or whichever); True if one was."""
    if kind in (None, "kafka") and stop_shared_node():
        return True
    return kind in (None, "tansu") and stop_embedded_tansu()


@contextlib.contextmanager
def start_private_broker(log_dir: Path, kind: BrokerKind | None = None,
                         nodes: int = 1) -> Iterator[BrokerProcess]:
    """A broker of our own on free loopback ports (`nodes` > 1: a Kafka cluster), stopped on
    exit; its kind is `kind`, else :func:`default_broker_kind`."""
    chosen = kind or default_broker_kind()
    if chosen == "tansu":
        if nodes > 1:
            raise BrokerError("a cluster of several brokers needs Apache Kafka, not Tansu")
        with start_private_tansu(log_dir) as proc:
            yield proc
        return
    with private_kafka(log_dir, nodes) as (_cluster, proc):
        yield proc


@contextlib.contextmanager
def private_kafka(log_dir: Path, nodes: int = 1, **options: object
                  ) -> Iterator[tuple[KafkaCluster, BrokerProcess]]:
    """A Kafka cluster of our own and its address, the JVMs tied to this process."""
    try:
        dist = find_distribution()
    except KafkaDistributionError as err:
        raise BrokerError(str(err)) from None
    root = Path(tempfile.mkdtemp(prefix="kafka-", dir=log_dir))
    cluster = KafkaCluster(dist, root, nodes, die_with_parent=True, **options)  # type: ignore[arg-type]
    try:
        cluster.start()
    except KafkaNodeError as err:
        cluster.stop(graceful=False)
        raise BrokerError(str(err).splitlines()[0]) from None
    try:
        first = cluster.nodes[0]
        host, port = cluster.bootstrap_servers.split(",")[0].rsplit(":", 1)
        what = f"Apache Kafka {dist.version}" + (f", {nodes} nodes" if nodes > 1 else "")
        yield cluster, BrokerProcess(host, int(port), first.pid or 0, True, "kafka", what,
                                     first.log_path, servers=cluster.bootstrap_servers)
    finally:
        cluster.stop(graceful=False)
