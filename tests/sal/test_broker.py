"""The embedded broker, of either kind: shared start, clear failure, careful stop."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from dmcs.kafka import kafka_available
from dmcs.sal.broker import (
    BrokerError,
    default_broker_kind,
    ensure_embedded_broker,
    free_port,
    is_listening,
    start_private_broker,
    stop_embedded_broker,
)
from dmcs.sal.config import BROKER_KIND_ENV

KINDS = ["tansu", pytest.param("kafka", marks=pytest.mark.skipif(
    not kafka_available(), reason="no java or Kafka jars here (make kafka-dist)"))]


@pytest.fixture(params=KINDS)
def own_home(request: pytest.FixtureRequest, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DMCS_HOME", str(tmp_path))
    monkeypatch.setenv("DMCS_EMBEDDED_BROKER_PORT", str(free_port()))
    monkeypatch.setenv(BROKER_KIND_ENV, request.param)
    return tmp_path


def test_started_once_then_shared_then_stopped(own_home: Path) -> None:
    first = ensure_embedded_broker()
    second = ensure_embedded_broker()
    try:
        assert first.kind == default_broker_kind() == os.environ[BROKER_KIND_ENV]
        assert first.started and not second.started
        assert (second.port, second.pid, second.kind) == (first.port, first.pid, first.kind)
        assert is_listening("127.0.0.1", first.port)
    finally:
        assert stop_embedded_broker()
    assert not is_listening("127.0.0.1", first.port)
    assert not stop_embedded_broker()


def test_start_failure_says_why(own_home: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(os.environ["DMCS_EMBEDDED_BROKER_PORT"])))
        with pytest.raises(BrokerError, match=r"exited|did not|cannot|bind|Address"):
            ensure_embedded_broker()


def test_stop_never_signals_a_process_that_is_not_the_broker(own_home: Path) -> None:
    (own_home / "broker.pid").write_text(str(os.getpid()))
    (own_home / "kafka.pid").write_text(str(os.getpid()))
    assert not stop_embedded_broker()
    assert not (own_home / "broker.pid").exists()


def test_a_private_broker_is_the_kind_asked_for(own_home: Path) -> None:
    kind = os.environ[BROKER_KIND_ENV]
    with start_private_broker(own_home, kind) as broker:  # type: ignore[arg-type]
        assert broker.kind == kind and broker.started
        assert is_listening(broker.host, broker.port)
    assert not is_listening(broker.host, broker.port)


def test_a_cluster_needs_kafka(own_home: Path) -> None:
    with pytest.raises(BrokerError, match="needs Apache Kafka"), \
            start_private_broker(own_home, "tansu", nodes=3):
        pass
