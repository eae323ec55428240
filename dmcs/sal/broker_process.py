"""A running broker as dmcs knows it, and the loopback helpers every launcher shares."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from dmcs.sal.config import BrokerKind
from dmcs.settings import settings


class BrokerError(RuntimeError):
    """The broker could not be started or reached."""


@dataclass(frozen=True)
class BrokerProcess:
    """A running broker: its address, pid and kind."""

    host: str
    port: int
    pid: int
    #: True if this call started it (so the caller knows it owns it), False if it was running.
    started: bool = False
    kind: BrokerKind = "tansu"
    #: What it is, for people: "Apache Kafka 4.4.0", "Tansu", or "a program dmcs did not start".
    what: str = "Tansu"
    log_path: Path | None = None
    #: Every node's address, for a cluster (bootstrapping survives the loss of one).
    servers: str = ""

    @property
    def bootstrap_servers(self) -> str:
        return self.servers or f"{self.host}:{self.port}"


def runtime_dir() -> Path:
    """Where dmcs keeps per-machine state (broker pid and log)."""
    path = settings().home
    path.mkdir(parents=True, exist_ok=True)
    return path


def embedded_port() -> int:
    return settings().embedded_broker_port


def is_listening(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


