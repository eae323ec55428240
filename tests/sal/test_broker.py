"""The embedded broker: shared start, clear failure, careful stop."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from dmcs.sal.broker import (
    BrokerError,
    ensure_embedded_broker,
    free_port,
    is_listening,
    stop_embedded_broker,
)


@pytest.fixture
def own_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DMCS_HOME", str(tmp_path))
    monkeypatch.setenv("DMCS_EMBEDDED_BROKER_PORT", str(free_port()))
    return tmp_path


def test_started_once_then_shared_then_stopped(own_home: Path) -> None:
    first = ensure_embedded_broker()
    second = ensure_embedded_broker()
    assert first.started and not second.started
    assert (second.port, second.pid) == (first.port, first.pid)
    assert is_listening("127.0.0.1", first.port)
    assert stop_embedded_broker()
    assert not is_listening("127.0.0.1", first.port)
    assert not stop_embedded_broker()


def test_start_failure_says_why(own_home: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(os.environ["DMCS_EMBEDDED_BROKER_PORT"])))
        with pytest.raises(BrokerError, match="broker exited with code"):
            ensure_embedded_broker()


def test_stop_never_signals_a_process_that_is_not_the_broker(own_home: Path) -> None:
    (own_home / "broker.pid").write_text(str(os.getpid()))
    assert not stop_embedded_broker()
    assert not (own_home / "broker.pid").exists()
