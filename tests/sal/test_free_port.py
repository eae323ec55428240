"""Ports for our servers come from below the kernel's ephemeral range, free when chosen, so
no outgoing connection made before the server binds can take one."""

from __future__ import annotations

import socket

from dmcs.ports import LOWEST, ephemeral_low, free_port


def test_ports_are_below_the_ephemeral_range_and_free() -> None:
    ports = [free_port() for _ in range(50)]
    assert all(LOWEST <= port < ephemeral_low() for port in ports), ports
    for port in ports[:5]:
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))
            server.listen()


def test_a_port_in_use_is_never_handed_out() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", free_port()))
        server.listen()
        taken = server.getsockname()[1]
        assert taken not in {free_port() for _ in range(500)}

