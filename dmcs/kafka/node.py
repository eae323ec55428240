"""One KRaft node: its storage formatted once, its JVM started, ready, signalled, stopped.

A node lives in a directory of its own: `server.properties`, `log4j2.properties`, `data/`
(the log dirs and the quorum's state), `server.log` (the broker's log) and `jvm.log` (what
the JVM itself prints: a crash, an out-of-memory). Restarted on the same directory it keeps
its data and rejoins its cluster. Drills kill it (SIGKILL), freeze it (SIGSTOP) and thaw it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dmcs.kafka import process
from dmcs.kafka.distribution import KafkaDistribution
from dmcs.kafka.node_config import NodeAddress, log4j_config, write_properties
from dmcs.kafka.probe import broker_ids, run_sync

#: A node's heap: enough for tests and a night; three nodes fit beside everything else on a
#: 2-core, 24 GiB machine (one idle node is ~150 MB resident, see docs/kafka.md).
DEFAULT_HEAP_MB = 512
#: Quick start and little CPU on two shared cores: the client compiler only (start 2× faster,
#: see benchmarks/kafka_cost.py) and the serial collector (no GC threads to share).
DEFAULT_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData",
                       "-Djava.awt.headless=true")
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 15.0
_POLL_S = 0.1
_LOG_TAIL_CHARS = 1500
KAFKA_MAIN = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"


class KafkaNodeError(RuntimeError):
    """A node could not be formatted or started; the message carries its log's tail."""


@dataclass(frozen=True)
class NodeSpec:
    """Everything a node needs to run, decided by its cluster."""

    address: NodeAddress
    properties: Mapping[str, str]
    #: Extra StorageTool `format` arguments (e.g. `--add-scram` users made before first start).
    format_args: tuple[str, ...] = ()
    heap_mb: int = DEFAULT_HEAP_MB
    jvm_options: tuple[str, ...] = DEFAULT_JVM_OPTIONS
    #: Run inside this network namespace (`ip netns exec`), for partition drills.
    netns: str | None = None
    #: How the node's own probes connect to it (SASL settings of an admin on a secure cluster).
    client_options: Mapping[str, Any] = field(default_factory=dict)


class KafkaNode:
    """A KRaft node in `directory`; `start` formats its storage the first time."""

    def __init__(self, dist: KafkaDistribution, spec: NodeSpec, directory: Path,
                 cluster_id: str, *, die_with_parent: bool = False) -> None:
        self.dist = dist
        self.spec = spec
        self.directory = directory
        self.cluster_id = cluster_id
        self.die_with_parent = die_with_parent
        self._proc: subprocess.Popen[bytes] | None = None
        self._pid: int | None = None
        #: True between `pause` and `resume`: the JVM exists but answers nothing.
        self.paused = False

    def __repr__(self) -> str:
        return f"KafkaNode({self.node_id}, {self.bootstrap_servers}, pid {self.pid})"

    @property
    def node_id(self) -> int:
        return self.spec.address.node_id

    @property
    def bootstrap_servers(self) -> str:
        return self.spec.address.bootstrap_server

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def properties_path(self) -> Path:
        return self.directory / "server.properties"

    @property
    def log_path(self) -> Path:
        """The broker's own log (log4j2)."""
        return self.directory / "server.log"

    @property
    def jvm_log_path(self) -> Path:
        return self.directory / "jvm.log"

    @property
    def pid(self) -> int | None:
        """The JVM's pid while it runs (also while it is frozen by SIGSTOP)."""
        return self._pid if self._pid and self.running else None

    @property
    def running(self) -> bool:
        if self._proc is not None:  # our child: its cmdline may not be the JVM's for a moment
            return self._proc.poll() is None
        return bool(self._pid) and process.is_node_process(self._pid or 0, self.properties_path)

    @property
    def formatted(self) -> bool:
        return (self.data_dir / "meta.properties").exists()

    def adopt(self, pid: int) -> None:
        """Take over a node some other process started on this directory (the shared node)."""
        self._pid = pid

    # -- starting -------------------------------------------------------------------------

    def write_config(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        write_properties(self.properties_path,
                         {**self.spec.properties, "log.dirs": str(self.data_dir)})
        (self.directory / "log4j2.properties").write_text(log4j_config(self.log_path))

    def format_command(self) -> list[str]:
        return self.dist.java_command(
            STORAGE_TOOL, "format", "--cluster-id", self.cluster_id,
            "--config", str(self.properties_path), *self.spec.format_args,
            jvm_options=self.spec.jvm_options)

    def format(self) -> None:
        """Format the node's storage for its cluster, unless it already is (a restart)."""
        formatting = self.begin_format()
        if formatting is not None:
            self.finish_format(formatting)

    def begin_format(self) -> subprocess.Popen[str] | None:
        """Write the config and start formatting (None if already formatted): ~3 s of JVM."""
        self.write_config()
        if self.formatted:
            return None
        return subprocess.Popen(self.format_command(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)

    def finish_format(self, formatting: subprocess.Popen[str]) -> None:
        output, _ = formatting.communicate(timeout=START_TIMEOUT_S)
        if formatting.returncode != 0:
            raise KafkaNodeError(f"node {self.node_id}: formatting {self.data_dir} failed "
                                 f"(exit {formatting.returncode}): {output[-_LOG_TAIL_CHARS:]}")

    def start_command(self) -> list[str]:
        jvm = (f"-Xmx{self.spec.heap_mb}m", f"-Xms{min(64, self.spec.heap_mb)}m",
               *self.spec.jvm_options,
               f"-Dlog4j2.configurationFile={self.directory / 'log4j2.properties'}")
        command = self.dist.java_command(KAFKA_MAIN, str(self.properties_path),
                                         jvm_options=jvm)
        if self.spec.netns:
            command = ["ip", "netns", "exec", self.spec.netns, *command]
        return command

    def spawn(self) -> None:
        """Start the JVM (formatting first if needed) without waiting for it to serve."""
        if self.running:
            raise KafkaNodeError(f"node {self.node_id} already runs (pid {self._pid})")
        self.format()
        self._proc = process.spawn(self.start_command(), self.jvm_log_path,
                                   die_with_parent=self.die_with_parent)
        self._pid = self._proc.pid

    def start(self, timeout: float = START_TIMEOUT_S) -> float:
        """Start the node and wait until it serves; the seconds that took."""
        began = time.monotonic()
        self.spawn()
        self.wait_ready(timeout)
        return time.monotonic() - began

    async def astart(self, timeout: float = START_TIMEOUT_S) -> float:
        """`start` for async code: the JVM is started from the caller's thread (which
        `die_with_parent` ties it to) and waited for in a worker thread."""
        began = time.monotonic()
        await asyncio.to_thread(self.format)
        self.spawn()
        await asyncio.to_thread(self.wait_ready, timeout)
        return time.monotonic() - began

    def wait_ready(self, timeout: float = START_TIMEOUT_S,
                   expected_brokers: int | None = None) -> None:
        """Return once the node answers a metadata request naming itself among the brokers.

        With `expected_brokers`, also wait until it sees that many brokers (a whole cluster).
        KafkaNodeError, with the log's tail, if it exits or the time runs out.
        """
        deadline = time.monotonic() + timeout
        host, port = self.spec.address.host, self.spec.address.port
        while True:
            if not self.running:
                raise KafkaNodeError(f"node {self.node_id} exited while starting "
                                     f"({self._exit_text()}); {self.log_tail()}")
            if _accepts(host, port) and self._serves(expected_brokers):
                return
            if time.monotonic() > deadline:
                raise KafkaNodeError(f"node {self.node_id} did not serve on "
                                     f"{self.bootstrap_servers} within {timeout:.0f} s; "
                                     f"{self.log_tail()}")
            time.sleep(_POLL_S)

    def _serves(self, expected_brokers: int | None) -> bool:
        try:
            ids = run_sync(broker_ids(self.bootstrap_servers, self.spec.client_options))
        except Exception:  # any refusal while starting: ask again until the deadline
            return False
        return self.node_id in ids and len(ids) >= (expected_brokers or 0)

    def _exit_text(self) -> str:
        code = self._proc.poll() if self._proc is not None else None
        return f"exit code {code}" if code is not None else "no longer running"

    def log_tail(self) -> str:
        """The end of the JVM's output and of the broker's log, for an error message."""
        parts = []
        for path in (self.jvm_log_path, self.log_path):
            if path.exists():
                parts.append(f"{path}:\n{path.read_text(errors='replace')[-_LOG_TAIL_CHARS:]}")
        return "\n".join(parts) or f"no log in {self.directory}"

    # -- stopping and drills --------------------------------------------------------------

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> bool:
        """Stop by pid: SIGTERM (a controlled shutdown), SIGKILL after `timeout` s.

        True if it was running. Its data stays, so `start` brings it back into its cluster.
        """
        if not self._pid:
            return False
        stopped = process.stop_pid(self._pid, self.properties_path, timeout, self._proc)
        self._forget()
        return stopped

    def kill(self) -> None:
        """SIGKILL, as a crash or the kernel's OOM killer would."""
        self._signal(signal.SIGKILL)
        if self._proc is not None:
            self._proc.wait()
        self._forget()

    def _forget(self) -> None:
        self._proc, self._pid, self.paused = None, None, False

    def pause(self) -> None:
        """SIGSTOP: the process stays, answers nothing, sends nothing (a hung broker)."""
        self._signal(signal.SIGSTOP)
        process.wait_state(self.pid or 0, stopped=True)
        self.paused = True

    def resume(self) -> None:
        """SIGCONT after `pause`."""
        self._signal(signal.SIGCONT)
        process.wait_state(self.pid or 0, stopped=False)
        self.paused = False

    def _signal(self, sig: signal.Signals) -> None:
        if self.pid is None:
            raise KafkaNodeError(f"node {self.node_id} is not running")
        os.kill(self.pid, sig)

    def usage(self) -> process.ProcessUsage:
        """Resident memory and CPU time of the node's JVM."""
        if self.pid is None:
            raise KafkaNodeError(f"node {self.node_id} is not running")
        return process.usage(self.pid)

    # -- the quorum -----------------------------------------------------------------------

    def quorum_state(self) -> dict[str, Any]:
        """The node's last word on the KRaft quorum: `leaderId`, `leaderEpoch`, ...

        Kafka writes it (`__cluster_metadata-0/quorum-state`) at every election it sees.
        """
        path = self.data_dir / "__cluster_metadata-0" / "quorum-state"
        state: dict[str, Any] = json.loads(path.read_text())
        return state


def _accepts(host: str, port: int) -> bool:
    """True if something accepts TCP connections on host:port (cheaper than a probe)."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def format_all(nodes: Sequence[KafkaNode]) -> None:
    """Format the storage of several nodes in parallel (a JVM each, ~3 s)."""
    formatting = [(node, node.begin_format()) for node in nodes]
    for node, proc in formatting:
        if proc is not None:
            node.finish_format(proc)
