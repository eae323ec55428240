"""`dmcs broker`: the machine's embedded broker, for operators without a cluster.

Two kinds can serve the embedded broker's port: Apache Kafka (one KRaft node, when Java and
the jars of `make kafka-dist` are here; the default then) and Tansu (the no-Java fallback).
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dmcs.cli.errors import CliError, ExitCode, one_line_errors
from dmcs.kafka import KafkaDistributionError, KafkaNodeError, kafka_available
from dmcs.kafka.shared import SharedNode, ensure_shared_node, shared_node, stop_shared_node
from dmcs.sal.broker import (
    BrokerProcess,
    embedded_port,
    ensure_embedded_broker,
    is_listening,
    runtime_dir,
    stop_embedded_broker,
)
from dmcs.sal.config import BROKER_ENV

console = Console(highlight=False)
_STOP_WAIT_S = 5.0
_HOST = "127.0.0.1"


class BrokerKind(StrEnum):
    KAFKA = "kafka"
    TANSU = "tansu"


def default_kind() -> BrokerKind:
    """Kafka where it can run here, else Tansu."""
    return BrokerKind.KAFKA if kafka_available() else BrokerKind.TANSU


@dataclass(frozen=True)
class _Running:
    """What serves the embedded broker's port, as the verb reports it."""

    servers: str
    pid: int
    kind: BrokerKind | None  # None: a program dmcs did not start
    what: str
    log: Path

    def line(self, verb: str) -> str:
        pid = f", pid {self.pid}" if self.pid else ""
        return f"embedded broker {verb} on {self.servers}{pid} ({self.what})"


def broker(
    stop: Annotated[bool, typer.Option("--stop", help="Stop the embedded broker.")] = False,
    status: Annotated[
        bool, typer.Option("--status", help="Say what runs on its port (exit 4 if nothing).")
    ] = False,
    foreground: Annotated[
        bool,
        typer.Option("--foreground", help="Keep running; stop the broker on Ctrl-C or SIGTERM."),
    ] = False,
    broker_kind: Annotated[
        BrokerKind | None,
        typer.Option("--broker-kind", help="kafka (Apache Kafka 4, KRaft; the default when "
                     "Java and `make kafka-dist`'s jars are here) or tansu (no Java needed). "
                     "--stop and --status without it: whichever dmcs started."),
    ] = None,
) -> None:
    """Start (or find) the embedded broker on loopback and print its address.

    Every dmcs process on this machine shares it when $LSST_KAFKA_BROKER_ADDR is unset.
    """
    with one_line_errors():
        if stop:
            _stop(broker_kind)
            return
        if status:
            _status(broker_kind)
            return
        port = embedded_port()
        already = is_listening(_HOST, port)
        if already and foreground:
            raise CliError(f"the embedded broker already runs on {_HOST}:{port}; "
                           "stop it first with `dmcs broker --stop`")
        running = _start(broker_kind or default_kind())
        console.print(running.line("already running" if already else "started"))
        console.print(f"  export {BROKER_ENV}={running.servers}")
        console.print(f"  log: {running.log}")
        if foreground:
            _wait_for_signal(port)
            _stop(None)


def _start(kind: BrokerKind) -> _Running:
    """Start a broker of `kind` unless one (of either kind) already serves the port."""
    if kind is BrokerKind.KAFKA:
        try:
            node = ensure_shared_node()
        except KafkaDistributionError as err:
            raise CliError(f"{err} (or choose --broker-kind tansu)", ExitCode.BROKER) from None
        except KafkaNodeError as err:
            raise CliError(str(err).splitlines()[0], ExitCode.BROKER) from None
    else:
        node = shared_node()
    if node is not None:
        return _kafka(node)
    return _tansu(ensure_embedded_broker())  # finds whatever else listens there, or starts it


def _kafka(node: SharedNode) -> _Running:
    return _Running(node.bootstrap_servers, node.pid, BrokerKind.KAFKA,
                    f"Apache Kafka {node.version}", node.log_path)


def _tansu(proc: BrokerProcess) -> _Running:
    if not proc.pid:
        return _Running(proc.bootstrap_servers, 0, None, "a program dmcs did not start",
                        runtime_dir() / "broker.log")
    return _Running(proc.bootstrap_servers, proc.pid, BrokerKind.TANSU, "Tansu",
                    runtime_dir() / "broker.log")


def _what_runs() -> _Running | None:
    """What serves the embedded broker's port now, if anything."""
    node = shared_node()
    if node is not None:
        return _kafka(node)
    port = embedded_port()
    if not is_listening(_HOST, port):
        return None
    pid_path = runtime_dir() / "broker.pid"
    pid = int(pid_path.read_text()) if pid_path.exists() else 0
    return _tansu(BrokerProcess(_HOST, port, pid))


def _status(kind: BrokerKind | None) -> None:
    running = _what_runs()
    if running is None or (kind is not None and running.kind is not kind):
        named = f"{kind.value} " if kind else ""
        raise CliError(f"no embedded {named}broker is running on {_HOST}:{embedded_port()}",
                       ExitCode.NOT_RUNNING)
    console.print(running.line("running"))


def _wait_for_signal(port: int) -> None:
    """Block until SIGINT/SIGTERM, or until the broker dies under us."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    console.print("running in the foreground; Ctrl-C stops it")
    while not stop.wait(1.0):
        if not is_listening(_HOST, port):
            raise CliError("the embedded broker stopped unexpectedly", ExitCode.BROKER)


def _stop(kind: BrokerKind | None) -> None:
    port = embedded_port()
    stopped = False
    if kind in (None, BrokerKind.KAFKA):
        stopped = stop_shared_node()
    if not stopped and kind in (None, BrokerKind.TANSU):
        stopped = stop_embedded_broker()
    if not stopped:
        running = _what_runs()
        if running is not None and running.kind is not None:
            raise CliError(f"the embedded broker on {_HOST}:{port} is {running.what}, not "
                           f"{kind}; `dmcs broker --stop` stops it", ExitCode.ERROR)
        if running is not None:
            raise CliError(f"something listens on {_HOST}:{port} but dmcs did not start it "
                           f"(no pid file in {runtime_dir()}); not stopping it", ExitCode.ERROR)
        console.print("no embedded broker is running")
        return
    deadline = time.monotonic() + _STOP_WAIT_S
    while is_listening(_HOST, port) and time.monotonic() < deadline:
        time.sleep(0.05)
    console.print(f"embedded broker on {_HOST}:{port} stopped")
