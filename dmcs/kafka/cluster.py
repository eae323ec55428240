"""N KRaft nodes as one cluster, and what drills need to know about it.

Every node is a broker and a controller; all controllers vote (a 3-node cluster keeps its
quorum with one node lost). Topics get three replicas and `min.insync.replicas=2` on three
nodes, so an acks=all write survives the loss of any one. On loopback each node has free
ports of its own; with `netns=True` each runs in a network namespace of its own (see
:mod:`dmcs.kafka.netns`) so that one can be cut off from the others. Without namespaces
`cut_off` freezes the node with SIGSTOP instead, which the others and the clients see the
same way: a node that answers nothing.

The layout (cluster id, ports) is kept in `cluster.json` in the cluster's directory, so a
cluster on loopback started again on the same directory comes back on the same ports with
its data.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from dmcs.kafka.distribution import KafkaDistribution
from dmcs.kafka.netns import NetnsNetwork
from dmcs.kafka.node import (
    DEFAULT_HEAP_MB,
    DEFAULT_JVM_OPTIONS,
    START_TIMEOUT_S,
    KafkaNode,
    KafkaNodeError,
    NodeSpec,
    format_all,
)
from dmcs.kafka.node_config import NodeAddress, node_properties
from dmcs.kafka.probe import PartitionState, broker_ids, partition_state
from dmcs.kafka.process import ProcessUsage
from dmcs.kafka.security import ClusterSecurity, ServiceUser
from dmcs.kafka.tls import make_tls_files
from dmcs.ports import free_port

LOOPBACK = "127.0.0.1"
LAYOUT_FILE = "cluster.json"
#: Inside its own namespace every node has the whole port range to itself.
NETNS_PORTS = (9092, 9093, 9094)
_POLL_S = 0.2



def new_cluster_id() -> str:
    """A KRaft cluster id: a random UUID, base64url without padding (22 characters), never
    starting with "-" (as Kafka's own ``Uuid.randomUuid``): the storage tool would take one
    of every 64 ids for an option and refuse to format."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class KafkaCluster:
    """`size` combined broker+controller nodes in `directory`; a context manager runs it.

    `users` makes it secure (SASL/SCRAM listeners, ACLs per user, see
    :mod:`dmcs.kafka.security`), `tls` adds a SASL_SSL listener with a CA made for it.
    `ports` fixes the nodes' client ports on loopback (the shared node's well-known port).
    `die_with_parent` ties the JVMs to the calling thread (tests: a crashed run leaves none).
    """

    def __init__(
        self,
        dist: KafkaDistribution,
        directory: Path,
        size: int = 1,
        *,
        users: Sequence[ServiceUser] | None = None,
        tls: bool = False,
        netns: bool = False,
        ports: Sequence[int] | None = None,
        heap_mb: int = DEFAULT_HEAP_MB,
        jvm_options: tuple[str, ...] = DEFAULT_JVM_OPTIONS,
        extra_properties: Mapping[str, str] | None = None,
        die_with_parent: bool = False,
    ) -> None:
        if size < 1:
            raise ValueError(f"a cluster needs at least one node, not {size}")
        if tls and users is None:
            raise ValueError("a TLS listener comes with SASL users: give users= too")
        self.directory = directory
        self.size = size
        self.network = NetnsNetwork.create(list(range(1, size + 1))) if netns else None
        try:
            self.cluster_id, addresses = self._layout(size, ports, tls, secure=users is not None)
            self.security = (None if users is None else ClusterSecurity(
                tuple(users),
                make_tls_files(directory / "tls", sorted({a.host for a in addresses}))
                if tls else None))
            self.nodes = [self._make_node(dist, address, addresses, heap_mb, jvm_options,
                                          extra_properties or {}, die_with_parent)
                          for address in addresses]
        except BaseException:
            self._remove_network()
            raise
        self._cut: set[int] = set()

    def _layout(self, size: int, ports: Sequence[int] | None, tls: bool, *, secure: bool
                ) -> tuple[str, list[NodeAddress]]:
        """The cluster id and node addresses: from `cluster.json` if this directory has one."""
        path = self.directory / LAYOUT_FILE
        if path.exists() and (secure or self.network is not None):
            raise KafkaNodeError(f"{self.directory} already holds a cluster; a secure or "
                                 "namespaced one starts only on a new directory (its users' "
                                 "passwords and addresses are not kept)")
        if path.exists():
            saved = json.loads(path.read_text())
            addresses = [NodeAddress(**node) for node in saved["nodes"]]
            wanted = list(ports or [a.port for a in addresses])
            if len(addresses) == size and [a.port for a in addresses] == wanted:
                return str(saved["cluster_id"]), addresses
            raise KafkaNodeError(
                f"{self.directory} holds a cluster of {len(addresses)} node(s) on ports "
                f"{[a.port for a in addresses]}, not {size} on {wanted}; use another directory")
        if ports is not None and len(ports) != size:
            raise ValueError(f"{len(ports)} ports given for {size} nodes")
        addresses = [self._address(node_id, ports, tls) for node_id in range(1, size + 1)]
        cluster_id = new_cluster_id()
        self.directory.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"cluster_id": cluster_id,
                                    "nodes": [vars(a) for a in addresses]}, indent=1))
        return cluster_id, addresses

    def _address(self, node_id: int, ports: Sequence[int] | None, tls: bool) -> NodeAddress:
        if self.network is not None:
            port, controller, tls_port = NETNS_PORTS
            return NodeAddress(node_id, self.network.address(node_id), port, controller,
                               tls_port if tls else None)
        port = ports[node_id - 1] if ports else free_port()
        return NodeAddress(node_id, LOOPBACK, port, free_port(), free_port() if tls else None)

    def _make_node(self, dist: KafkaDistribution, address: NodeAddress,
                   voters: list[NodeAddress], heap_mb: int, jvm_options: tuple[str, ...],
                   extra: Mapping[str, str], die_with_parent: bool) -> KafkaNode:
        directory = self.directory / f"node-{address.node_id}"
        security = self.security
        spec = NodeSpec(
            address=address,
            properties=node_properties(
                address, voters,
                listener_protocols=security.listener_protocols() if security else None,
                extra={**(security.broker_properties() if security else {}), **extra}),
            format_args=security.format_args() if security else (),
            heap_mb=heap_mb,
            jvm_options=jvm_options,
            netns=self.network.namespace(address.node_id) if self.network else None,
            client_options=self.client_options(),
        )
        return KafkaNode(dist, spec, directory, self.cluster_id,
                         die_with_parent=die_with_parent)

    # -- running --------------------------------------------------------------------------

    def __enter__(self) -> KafkaCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = START_TIMEOUT_S) -> float:
        """Start every node, wait until each serves and sees all brokers; the seconds taken.

        On a secure cluster the users' ACLs are in place when this returns.
        """
        began = time.monotonic()
        format_all(self.nodes)
        for node in self.nodes:
            node.spawn()
        self._wait_serving(began + timeout)
        return time.monotonic() - began

    async def astart(self, timeout: float = START_TIMEOUT_S) -> float:
        """`start` for async code: formatting and waiting in worker threads, the JVMs started
        from the caller's thread (which `die_with_parent` ties them to)."""
        began = time.monotonic()
        await asyncio.to_thread(format_all, self.nodes)
        for node in self.nodes:
            node.spawn()
        await asyncio.to_thread(self._wait_serving, began + timeout)
        return time.monotonic() - began

    def _wait_serving(self, deadline: float) -> None:
        """Every node serving and seeing all brokers; then the users' ACLs, if secure."""
        self._wait_all(deadline)
        if self.security is not None:
            self.security.add_acls(self.bootstrap_servers)

    def _wait_all(self, deadline: float) -> None:
        for node in self.nodes:
            node.wait_ready(max(1.0, deadline - time.monotonic()), self.size)

    def stop(self, *, graceful: bool = True) -> None:
        """Stop every node at once (each by pid), then remove the namespaces if any.

        Graceful is SIGTERM (a controlled shutdown: ~6 s for three nodes, as the last
        controller waits for a quorum that is going away); otherwise SIGKILL, for a cluster
        whose data is thrown away.
        """
        def stop(node: KafkaNode) -> None:
            if not graceful and node.running:
                node.kill()
            node.stop()

        with concurrent.futures.ThreadPoolExecutor(len(self.nodes)) as pool:
            list(pool.map(stop, self.nodes))
        self._cut.clear()
        self._remove_network()

    def restore(self, timeout: float = START_TIMEOUT_S) -> None:
        """Undo every drill: heal cut-off nodes, thaw frozen ones, restart stopped ones, and
        wait until each serves and sees all brokers again."""
        for node in self.nodes:
            if node.paused:
                node.resume()
            if node.node_id in self._cut:
                self.heal(node)
        for node in self.nodes:
            if not node.running:
                node.spawn()
        self._wait_all(time.monotonic() + timeout)

    def _remove_network(self) -> None:
        if self.network is not None:
            self.network.remove()

    # -- addresses and credentials --------------------------------------------------------

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(node.bootstrap_servers for node in self.nodes)

    @property
    def tls_bootstrap_servers(self) -> str:
        servers = [node.spec.address.tls_bootstrap_server for node in self.nodes]
        if None in servers:
            raise ValueError("this cluster has no TLS listener (made without tls=True)")
        return ",".join(str(server) for server in servers)

    def client_options(self, user: str | None = None, *, tls: bool = False) -> dict[str, Any]:
        """aiokafka keyword arguments: nothing on a plain cluster, else `user`'s (the admin's
        when None) SASL settings, with the CA on the TLS listener."""
        if self.security is None:
            if user is not None or tls:
                raise ValueError("this cluster is not secure (made without users=)")
            return {}
        return self.security.client_options(user or "admin", tls=tls)

    def client_env(self, user: str, *, tls: bool = False) -> dict[str, str]:
        """`LSST_KAFKA_*` environment for a dmcs process running as `user`."""
        if self.security is None:
            raise ValueError("this cluster is not secure (made without users=)")
        servers = self.tls_bootstrap_servers if tls else self.bootstrap_servers
        return self.security.client_env(user, servers, tls=tls)

    def add_user(self, user: ServiceUser) -> None:
        """Create a SCRAM user and its ACLs on the running (secure) cluster."""
        if self.security is None:
            raise ValueError("this cluster is not secure (made without users=)")
        self.security.add_user(user, self.bootstrap_servers)

    # -- nodes ----------------------------------------------------------------------------

    def node(self, node_id: int) -> KafkaNode:
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise KeyError(f"no node {node_id} in this cluster of {self.size}")

    def reachable_nodes(self) -> list[KafkaNode]:
        """Nodes that run and are neither frozen nor cut off."""
        return [node for node in self.nodes
                if node.running and not node.paused and node.node_id not in self._cut]

    def usage(self) -> dict[int, ProcessUsage]:
        """Memory and CPU time of each running node's JVM."""
        return {node.node_id: node.usage() for node in self.nodes if node.running}

    # -- what the drills ask --------------------------------------------------------------

    async def partition(self, topic: str, partition: int = 0) -> PartitionState:
        """Leader, replicas and in-sync replicas, as the reachable nodes report them."""
        servers = ",".join(node.bootstrap_servers for node in self.reachable_nodes())
        return await partition_state(servers, topic, partition, self.client_options())

    async def partition_leader(self, topic: str, partition: int = 0) -> KafkaNode:
        state = await self.partition(topic, partition)
        if state.leader < 0:
            raise KafkaNodeError(f"{topic}[{partition}] has no leader now")
        return self.node(state.leader)

    async def wait_partition(
        self, topic: str, until: Callable[[PartitionState], bool], partition: int = 0,
        timeout: float = 60.0,
    ) -> PartitionState:
        """Poll the partition's metadata until `until(state)`; that state.

        TimeoutError naming the last state seen if it does not come within `timeout` s.
        """
        deadline = time.monotonic() + timeout
        state: PartitionState | None = None
        while True:
            with contextlib.suppress(Exception):  # a node that just died may answer nothing
                state = await self.partition(topic, partition)
                if until(state):
                    return state
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}[{partition}] did not reach the state waited for "
                                   f"within {timeout:.0f} s; last seen: {state}")
            await asyncio.sleep(_POLL_S)

    async def wait_fenced(self, node: KafkaNode, timeout: float = 60.0) -> None:
        """Wait until the reachable nodes no longer list `node` among the brokers.

        Until then clients may still be sent to it: aiokafka's admin sends CreateTopics to
        the metadata's `controller_id`, which KRaft picks among the registered brokers.
        """
        deadline = time.monotonic() + timeout
        while True:
            servers = ",".join(other.bootstrap_servers for other in self.reachable_nodes())
            with contextlib.suppress(Exception):  # a node that just died may answer nothing
                if node.node_id not in await broker_ids(servers, self.client_options()):
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"node {node.node_id} still listed as a broker after "
                                   f"{timeout:.0f} s")
            await asyncio.sleep(_POLL_S)

    def active_controller(self) -> KafkaNode | None:
        """The node leading the KRaft quorum now, as the newest election among the reachable
        nodes says (None while one is under way or its winner is unreachable)."""
        states = []
        for node in self.reachable_nodes():
            with contextlib.suppress(OSError, ValueError):
                states.append(node.quorum_state())
        if not states:
            return None
        newest = max(states, key=lambda state: int(state["leaderEpoch"]))
        leader = int(newest["leaderId"])
        reachable = {node.node_id: node for node in self.reachable_nodes()}
        return reachable.get(leader)

    def wait_for_controller(self, other_than: KafkaNode | None = None,
                            timeout: float = 60.0) -> KafkaNode:
        """The active controller once there is one (other than `other_than`, if given)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.active_controller()
            if found is not None and found is not other_than:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"no active controller (other than {other_than}) "
                                   f"within {timeout:.0f} s")
            time.sleep(_POLL_S)

    # -- partitions -----------------------------------------------------------------------

    @property
    def isolation(self) -> str:
        """How `cut_off` isolates a node here: `netns` (its link goes down) or `sigstop`."""
        return "netns" if self.network is not None else "sigstop"

    def cut_off(self, node: KafkaNode) -> None:
        """Cut `node` off from the other nodes and from every client, until `heal`."""
        if self.network is None:
            node.pause()
            return
        self.network.cut(node.node_id)
        self._cut.add(node.node_id)

    def heal(self, node: KafkaNode) -> None:
        if self.network is None:
            node.resume()
            return
        self.network.heal(node.node_id)
        self._cut.discard(node.node_id)

    @contextlib.contextmanager
    def cut_off_while(self, node: KafkaNode) -> Iterator[None]:
        """`node` cut off for the body of a `with`, healed after it, whatever happens."""
        self.cut_off(node)
        try:
            yield
        finally:
            self.heal(node)
