"""The machine's shared Kafka node, for `dmcs broker` (the Kafka twin of Tansu's embedded broker).

One node on the embedded broker's fixed loopback port (`$DMCS_EMBEDDED_BROKER_PORT`, 19092),
its data kept in `<DMCS_HOME>/kafka-<port>/` so topics survive a restart; started detached
(it outlives the command that started it) and stopped by the pid in `<DMCS_HOME>/kafka.pid`.
It takes the same lock as Tansu's embedded broker, so two processes never both start a broker
on the port, whichever kind each wants.
"""

from __future__ import annotations

import contextlib
import fcntl
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dmcs.kafka.cluster import LOOPBACK, KafkaCluster
from dmcs.kafka.distribution import find_distribution
from dmcs.kafka.node import KafkaNode
from dmcs.kafka.process import is_node_process
from dmcs.settings import settings

PID_FILE = "kafka.pid"
#: The lock file Tansu's embedded broker takes too (dmcs/sal/broker.py).
LOCK_FILE = "broker.lock"


@dataclass(frozen=True)
class SharedNode:
    """The running shared node: where it listens, its pid, and whether this call started it."""

    port: int
    pid: int
    version: str
    log_path: Path
    started: bool = False
    host: str = LOOPBACK

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"


def _home() -> Path:
    home = settings().home
    home.mkdir(parents=True, exist_ok=True)
    return home


def _port() -> int:
    return settings().embedded_broker_port


@contextlib.contextmanager
def _locked() -> Iterator[Path]:
    home = _home()
    with open(home / LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield home


def _node(home: Path, port: int) -> KafkaNode:
    """The shared node's launcher, on its directory (the layout there is reused)."""
    cluster = KafkaCluster(find_distribution(), home / f"kafka-{port}", 1, ports=[port])
    return cluster.nodes[0]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((LOOPBACK, port)) == 0


def _running_pid(home: Path, port: int) -> int | None:
    """The pid in the pid file, if it is still the shared node of this port."""
    pid_path = home / PID_FILE
    if not pid_path.exists():
        return None
    pid = int(pid_path.read_text())
    properties = home / f"kafka-{port}" / "node-1" / "server.properties"
    return pid if is_node_process(pid, properties) else None


def shared_node() -> SharedNode | None:
    """The shared node if dmcs started one on this machine's port and it still runs."""
    with _locked() as home:
        port = _port()
        pid = _running_pid(home, port)
        if pid is None:
            return None
        node = _node(home, port)
        return SharedNode(port, pid, node.dist.version, node.log_path)


def ensure_shared_node() -> SharedNode | None:
    """Start the shared node unless a broker already listens on the port.

    The running node (started=False) if it is ours; None if something else listens there
    (Tansu's embedded broker, or a program dmcs did not start). KafkaDistributionError if
    Java or the jars are missing, KafkaNodeError (with its log) if it cannot start.
    """
    with _locked() as home:
        port = _port()
        node = _node(home, port)
        pid = _running_pid(home, port)
        if pid is not None:
            return SharedNode(port, pid, node.dist.version, node.log_path)
        if _listening(port):
            return None
        node.start()
        assert node.pid is not None
        (home / PID_FILE).write_text(str(node.pid))
        return SharedNode(port, node.pid, node.dist.version, node.log_path, started=True)


def stop_shared_node() -> bool:
    """Stop the shared node by its pid (a controlled shutdown); True if one was running."""
    with _locked() as home:
        port = _port()
        pid = _running_pid(home, port)
        (home / PID_FILE).unlink(missing_ok=True)
        if pid is None:
            return False
        node = _node(home, port)
        node.adopt(pid)
        return node.stop()
