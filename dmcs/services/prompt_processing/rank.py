"""The rank entry point of the warm pool: `mpiexec -n N python -m ...rank POOL_SPEC.json`.

Each MPI rank keeps one worker process. The worker connects to the pool, says who it is,
starts beating, builds the pipeline once (so calibrations and imports stay warm between
visits) and then runs the items it is sent until told to stop or the pool goes away. A
pipeline with ``idle_work()`` (prompt-visit: the outputs of CCDs already answered) does it
one piece at a time while no item waits (and not in the moment the pool takes to hand over
the next queued item); told to stop, the worker calls its ``close()``
(prompt-visit: every answered CCD written and published).
MPICH's launcher ends every rank when one is killed by a signal, so the rank itself does no
work: it restarts a worker that was killed (OOM killer, SIGKILL) in the same rank slot, and
the other ranks never notice. The rank number comes from the launcher's environment (Hydra's
PMI_RANK, Slurm's SLURM_PROCID); no process here calls into MPI.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mpi4py

from dmcs.mpi.registry import pipeline_class
from dmcs.services.prompt_processing.rank_protocol import RANK_MODULE, PoolSpec, decode, encode

_RANK_VARIABLES = ("PMI_RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK")
_CONNECT_ATTEMPTS = 50
_WORKER_FLAG = "--worker"
MAX_WORKER_RESTARTS = 5
#: How long a rank that has just answered waits for its next item before doing idle work:
#: the pool hands a queued item over within milliseconds, even on a busy machine.
NEXT_ITEM_WAIT_S = 0.25
#: How often an idle rank looks again for deferred work that had to wait.
IDLE_RECHECK_S = 2.0


class _Connection:
    """The socket to the pool; sends from the heartbeat thread and the main thread."""

    def __init__(self, host: str, port: int) -> None:
        for attempt in range(_CONNECT_ATTEMPTS):
            try:
                self._socket = socket.create_connection((host, port))
                break
            except OSError:
                if attempt == _CONNECT_ATTEMPTS - 1:
                    raise
                time.sleep(0.1)
        self._received = bytearray()
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        with self._lock:
            self._socket.sendall(encode(message))

    def waiting(self, timeout_s: float = 0.0) -> bool:
        """Whether a message has arrived (or the pool went away), waiting up to ``timeout_s``."""
        if b"\n" in self._received:
            return True
        readable, _, _ = select.select([self._socket], [], [], timeout_s)
        return bool(readable)

    def receive(self) -> dict[str, Any] | None:
        """The next message; None once the pool closed the connection."""
        while (end := self._received.find(b"\n")) < 0:
            chunk = self._socket.recv(65536)
            if not chunk:
                return None
            self._received += chunk
        line = bytes(self._received[: end + 1])
        del self._received[: end + 1]
        return decode(line)


def rank_number() -> int:
    for variable in _RANK_VARIABLES:
        if variable in os.environ:
            return int(os.environ[variable])
    return 0


def _beat(connection: _Connection, interval_s: float) -> None:
    while True:
        time.sleep(interval_s)
        try:
            connection.send({"type": "heartbeat"})
        except OSError:
            return


def keep_worker(spec_path: Path) -> int:
    """The rank: run the worker, start it again when a signal killed it; its exit code."""
    restarts = 0
    while True:
        command = [sys.executable, "-m", RANK_MODULE, _WORKER_FLAG, str(spec_path)]
        code = subprocess.call(command)
        if code >= 0 or restarts == MAX_WORKER_RESTARTS:
            return code if code >= 0 else 1
        restarts += 1
        print(f"rank {rank_number()}: worker killed by signal {-code}; restarting", flush=True)


def serve(spec: PoolSpec) -> int:
    """The worker: see the module docstring."""
    mpi4py.rc.initialize = False  # the launcher's PMI belongs to the rank, not to its worker
    from dmcs.mpi.scheduler import run_item_safely

    connection = _Connection(spec.host, spec.port)
    rank = rank_number()
    connection.send(
        {"type": "hello", "rank": rank, "pid": os.getpid(), "host": socket.gethostname()}
    )
    threading.Thread(target=_beat, args=(connection, spec.heartbeat_s), daemon=True).start()
    try:
        pipeline = pipeline_class(spec.pipeline)(spec.config, Path(spec.output_dir))
        pipeline.setup()
    except Exception:
        connection.send({"type": "setup_failed", "error": traceback.format_exc()})
        return 2
    connection.send({"type": "ready"})
    idle_work = getattr(pipeline, "idle_work", None)
    answered = False
    while True:
        if idle_work is not None:
            if answered:  # the moment the pool takes to hand over a queued item is not idle
                connection.waiting(NEXT_ITEM_WAIT_S)
            _idle(connection, idle_work)
        message = connection.receive()
        if message is None or message["type"] != "run":
            break
        answered = True
        done = run_item_safely(pipeline, message["item"], rank)
        connection.send(
            {
                "type": "outcome",
                "task": message["task"],
                "result": done.result,
                "error": done.error,
                "traceback": done.traceback,
                "seconds": done.seconds,
            }
        )
    close = getattr(pipeline, "close", None)
    if close is not None:  # told to stop: finish what was answered
        close()
    return 0


def _idle(connection: _Connection, idle_work: Callable[[], bool]) -> None:
    """Deferred work (prompt-visit's outputs) until a message comes; with none left,
    ``idle_work`` is called again every IDLE_RECHECK_S, so work that had to wait (products
    whose raws are not in the Butler yet) is retried while the rank is idle."""
    while not connection.waiting():
        if not idle_work():
            connection.waiting(IDLE_RECHECK_S)


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) == 2 and arguments[0] == _WORKER_FLAG:
        return serve(PoolSpec.read(Path(arguments[1])))
    if len(arguments) != 1:
        print(
            "usage: python -m dmcs.services.prompt_processing.rank POOL_SPEC.json", file=sys.stderr
        )
        return 2
    return keep_worker(Path(arguments[0]))


if __name__ == "__main__":
    sys.exit(main())
