"""`dmcs broker`: the machine's embedded broker, for operators without a cluster.

Two kinds can serve the embedded broker's port: Apache Kafka (one KRaft node, when Java and
the jars of `make kafka-dist` are here; the default then) and Tansu (the no-Java fallback).
"""

from __future__ import annotations

import signal
import threading
import time
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console

from dmcs.cli.errors import CliError, ExitCode, one_line_errors
from dmcs.sal.broker import (
    BrokerError,
    BrokerProcess,
    KafkaUnavailableError,
    default_broker_kind,
    embedded_broker,
    embedded_port,
    ensure_embedded_broker,
    is_listening,
    runtime_dir,
    stop_embedded_broker,
)
from dmcs.sal.config import BROKER_ENV, BROKER_KIND_ENV, REGISTRY_ENV
from dmcs.sal.registry.process import (
    RegistryStartError,
    ensure_embedded_registry,
    stop_embedded_registry,
)

console = Console(highlight=False)
_STOP_WAIT_S = 5.0
_HOST = "127.0.0.1"


class BrokerKind(StrEnum):
    KAFKA = "kafka"
    TANSU = "tansu"


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
        running = _start(broker_kind or BrokerKind(default_broker_kind()))
        console.print(_line(running, "already running" if already else "started"))
        try:
            registry = ensure_embedded_registry(running.bootstrap_servers)
        except RegistryStartError as err:
            raise CliError(str(err).splitlines()[0], ExitCode.BROKER) from None
        console.print(f"schema registry at {registry.url}")
        console.print(f"  export {BROKER_ENV}={running.bootstrap_servers} "
                      f"{REGISTRY_ENV}={registry.url} {BROKER_KIND_ENV}={running.kind}")
        console.print(f"  log: {running.log_path}")
        if foreground:
            _wait_for_signal(port)
            _stop(None)


def _start(kind: BrokerKind) -> BrokerProcess:
    """Start a broker of `kind` unless one (of either kind) already serves the port."""
    try:
        return ensure_embedded_broker(kind.value)
    except KafkaUnavailableError as err:
        raise CliError(f"{err.reason} (or choose --broker-kind tansu)", ExitCode.BROKER) from None
    except BrokerError as err:
        raise CliError(str(err), ExitCode.BROKER) from None


def _line(running: BrokerProcess, verb: str) -> str:
    pid = f", pid {running.pid}" if running.pid else ""
    return f"embedded broker {verb} on {running.bootstrap_servers}{pid} ({running.what})"


def _status(kind: BrokerKind | None) -> None:
    running = embedded_broker()
    if running is None or (kind is not None and running.kind != kind.value):
        named = f"{kind.value} " if kind else ""
        raise CliError(f"no embedded {named}broker is running on {_HOST}:{embedded_port()}",
                       ExitCode.NOT_RUNNING)
    console.print(_line(running, "running"))


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
    stop_embedded_registry()
    if not stop_embedded_broker(kind.value if kind else None):
        running = embedded_broker()
        if running is not None and running.pid:
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
