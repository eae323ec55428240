"""A cluster's nodes in network namespaces of their own, so one can be cut off and healed.

Each node runs in its own namespace, joined to a bridge in the host's namespace by a veth
pair; nodes talk to each other across the bridge, and clients on the host reach them at their
bridge addresses (traffic stays inside this machine). Taking a node's host-side veth down cuts
it off from every other node and every client at once, as a pulled cable would; setting it up
heals the partition. Needs root and `ip` (iproute2); :func:`netns_available` says whether
this machine can.

Names carry this process's pid (`dk<pid>`), so a run that died without cleaning up is
recognised and removed by the next one (:func:`remove_stale`).
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: Subnets handed out to bridges, one /24 each.
_POOL = ipaddress.IPv4Network("10.231.0.0/16")
_LOCK = Path("/run/lock/dmcs-netns.lock")
_NAME = re.compile(r"^dk(\d+)n(\d+)")
_FIRST_HOST = 10


class NetnsError(RuntimeError):
    """A namespace, bridge or link could not be made or changed; the text says which."""


def _ip(*args: str) -> str:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def netns_available() -> bool:
    """True if this process may make network namespaces (root, with iproute2)."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    probe = f"dk{os.getpid()}probe"
    try:
        _ip("netns", "add", probe)
    except NetnsError:
        return False
    with contextlib.suppress(NetnsError):
        _ip("netns", "del", probe)
    return True


@dataclass(frozen=True)
class NodeLink:
    """One node's namespace, its veth pair and its address on the bridge."""

    namespace: str
    host_side: str
    node_side: str
    address: str


class NetnsNetwork:
    """A bridge on the host and one namespace per node; see the module's docstring."""

    def __init__(self, tag: str, subnet: ipaddress.IPv4Network) -> None:
        self.tag = tag
        self.subnet = subnet
        self.bridge = f"{tag}br"
        self.links: dict[int, NodeLink] = {}

    @classmethod
    def create(cls, node_ids: list[int]) -> NetnsNetwork:
        """Make the bridge and a namespace per node id (an id is a node's last address byte)."""
        remove_stale()
        with _pool_lock():
            seq = _next_sequence()
            network = cls(f"dk{os.getpid()}n{seq}", _free_subnet())
            try:
                network._make_bridge()
                for node_id in node_ids:
                    network._add_node(node_id)
            except NetnsError:
                network.remove()
                raise
        return network

    @property
    def gateway(self) -> str:
        return str(self.subnet[1])

    def _make_bridge(self) -> None:
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.gateway}/{self.subnet.prefixlen}", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")

    def _add_node(self, node_id: int) -> None:
        link = NodeLink(namespace=f"{self.tag}-{node_id}", host_side=f"{self.tag}h{node_id}",
                        node_side=f"{self.tag}v{node_id}",
                        address=str(self.subnet[_FIRST_HOST + node_id]))
        self.links[node_id] = link
        _ip("netns", "add", link.namespace)
        _ip("link", "add", link.host_side, "type", "veth", "peer", "name", link.node_side)
        _ip("link", "set", link.node_side, "netns", link.namespace)
        _ip("link", "set", link.host_side, "master", self.bridge)
        _ip("link", "set", link.host_side, "up")
        inside = ("netns", "exec", link.namespace, "ip")
        _ip(*inside, "addr", "add", f"{link.address}/{self.subnet.prefixlen}",
            "dev", link.node_side)
        _ip(*inside, "link", "set", link.node_side, "up")
        _ip(*inside, "link", "set", "lo", "up")

    def address(self, node_id: int) -> str:
        return self.links[node_id].address

    def namespace(self, node_id: int) -> str:
        return self.links[node_id].namespace

    def cut(self, node_id: int) -> None:
        """Cut the node off from every other node and from clients (its link goes down)."""
        _ip("link", "set", self.links[node_id].host_side, "down")

    def heal(self, node_id: int) -> None:
        _ip("link", "set", self.links[node_id].host_side, "up")

    def remove(self) -> None:
        """Delete the namespaces (their veth pairs go with them) and the bridge."""
        _remove_tag(self.tag)


def _remove_tag(tag: str) -> None:
    for namespace in _namespaces():
        if _tag_of(namespace) == tag:
            with contextlib.suppress(NetnsError):
                _ip("netns", "del", namespace)
    for link in _links():
        if _tag_of(link) == tag:
            with contextlib.suppress(NetnsError):
                _ip("link", "del", link)


def _tag_of(name: str) -> str | None:
    """`dk<pid>n<seq>` of a namespace or link dmcs made, else None."""
    found = _NAME.match(name)
    return f"dk{found.group(1)}n{found.group(2)}" if found else None


def _namespaces() -> list[str]:
    return [line.split()[0] for line in _ip("netns", "list").splitlines() if line.strip()]


def _links() -> list[str]:
    names = re.findall(r"^\d+: ([^:@]+)", _ip("-o", "link", "show"), flags=re.MULTILINE)
    return [name for name in names if _NAME.match(name)]


def remove_stale() -> None:
    """Remove namespaces and bridges left by dmcs processes that are no longer alive."""
    for name in {*_namespaces(), *_links()}:
        found = _NAME.match(name)
        if found and not Path(f"/proc/{found.group(1)}").exists():
            _remove_tag(f"dk{found.group(1)}n{found.group(2)}")


@contextlib.contextmanager
def _pool_lock() -> Iterator[None]:
    """One process at a time picks a subnet (parallel test workers each make a cluster)."""
    _LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _next_sequence() -> int:
    used = [int(m.group(2)) for name in _links()
            if (m := _NAME.match(name)) and int(m.group(1)) == os.getpid()]
    return max(used, default=0) + 1


def _free_subnet() -> ipaddress.IPv4Network:
    """The first /24 of the pool that no interface of the host uses."""
    taken = {ipaddress.ip_interface(addr).network
             for addr in re.findall(r"inet (\S+)", _ip("-o", "-4", "addr", "show"))}
    for subnet in _POOL.subnets(new_prefix=24):
        if not any(subnet.overlaps(other) for other in taken):
            return subnet
    raise NetnsError(f"no free /24 left in {_POOL} for a cluster's bridge")
