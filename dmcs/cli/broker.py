"""`dmcs broker`: the machine's embedded Kafka-protocol broker, for operators without a cluster."""

from __future__ import annotations

import signal
import threading
import time
from typing import Annotated

import typer
from rich.console import Console

from dmcs.cli.errors import CliError, ExitCode, one_line_errors
from dmcs.sal.broker import (
    embedded_port,
    ensure_embedded_broker,
    is_listening,
    runtime_dir,
    stop_embedded_broker,
)
from dmcs.sal.config import BROKER_ENV

console = Console(highlight=False)
_STOP_WAIT_S = 5.0


def broker(
    stop: Annotated[bool, typer.Option("--stop", help="Stop the embedded broker.")] = False,
    foreground: Annotated[
        bool,
        typer.Option("--foreground", help="Keep running; stop the broker on Ctrl-C or SIGTERM."),
    ] = False,
) -> None:
    """Start (or find) the embedded broker on loopback and print its address.

    Every dmcs process on this machine shares it when $LSST_KAFKA_BROKER_ADDR is unset.
    """
    with one_line_errors():
        if stop:
            _stop()
            return
        already = is_listening("127.0.0.1", embedded_port())
        if already and foreground:
            raise CliError(f"the embedded broker already runs on 127.0.0.1:{embedded_port()}; "
                           "stop it first with `dmcs broker --stop`")
        proc = ensure_embedded_broker()
        verb = "already running" if already else "started"
        pid = f", pid {proc.pid}" if proc.pid else ""
        console.print(f"embedded broker {verb} on {proc.bootstrap_servers}{pid}")
        console.print(f"  export {BROKER_ENV}={proc.bootstrap_servers}")
        console.print(f"  log: {runtime_dir() / 'broker.log'}")
        if foreground:
            _wait_for_signal(proc.port)
            _stop()


def _wait_for_signal(port: int) -> None:
    """Block until SIGINT/SIGTERM, or until the broker dies under us."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    console.print("running in the foreground; Ctrl-C stops it")
    while not stop.wait(1.0):
        if not is_listening("127.0.0.1", port):
            raise CliError("the embedded broker stopped unexpectedly", ExitCode.BROKER)


def _stop() -> None:
    port = embedded_port()
    if not stop_embedded_broker():
        if is_listening("127.0.0.1", port):
            raise CliError(f"something listens on 127.0.0.1:{port} but dmcs did not start it "
                           f"(no pid file in {runtime_dir()}); not stopping it", ExitCode.ERROR)
        console.print("no embedded broker is running")
        return
    deadline = time.monotonic() + _STOP_WAIT_S
    while is_listening("127.0.0.1", port) and time.monotonic() < deadline:
        time.sleep(0.05)
    console.print(f"embedded broker on 127.0.0.1:{port} stopped")
