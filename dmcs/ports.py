"""Free loopback ports for the servers dmcs starts (brokers, registry, InfluxDB, metrics).

A port is chosen now and bound later by another process, so it is taken from below the
kernel's ephemeral range (``net.ipv4.ip_local_port_range``): an outgoing connection made in
between (a Kafka client's, say) can never be given it. A port the kernel gave for ``bind(0)``
comes from that range, and a night once lost a CSC's metrics port that way.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

LOOPBACK = "127.0.0.1"
#: The lowest port handed out: above the well-known and most registered ones.
LOWEST = 20000
_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_DEFAULT_EPHEMERAL_LOW = 32768
_ATTEMPTS = 200


def ephemeral_low() -> int:
    """The first port the kernel gives outgoing connections."""
    try:
        return int(_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return _DEFAULT_EPHEMERAL_LOW


def free_port(host: str = LOOPBACK) -> int:
    """A port nothing listens on now and no outgoing connection will take."""
    high = ephemeral_low()
    for _ in range(_ATTEMPTS if high > LOWEST else 0):
        port = random.randrange(LOWEST, high)
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:  # no room below the ephemeral range: any free one
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
