"""What travels between the warm pool and its ranks: one JSON object per line over TCP.

Ranks connect back to the pool's listening socket (loopback by default, any reachable address
for ranks on other nodes), so the pool sees each rank's heartbeats, outcomes and death (a
closed connection) without any MPI call on the control path.

rank -> pool: hello(rank, pid, host), ready, setup_failed(error), heartbeat,
              outcome(task, result | error, traceback, seconds)
pool -> rank: run(task, item), stop
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

MISSED_HEARTBEATS_TO_SILENT = 3
RANK_MODULE = "dmcs.services.prompt_processing.rank"


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    message = json.loads(line)
    if not isinstance(message, dict) or "type" not in message:
        raise ValueError(f"not a pool message: {line[:80]!r}")
    return message


@dataclass(frozen=True)
class PoolSpec:
    """What every rank needs: where the pool listens, which pipeline, how often to beat."""

    host: str
    port: int
    pipeline: str
    config: dict[str, Any]
    output_dir: str
    heartbeat_s: float

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2))
        return path

    @classmethod
    def read(cls, path: Path) -> PoolSpec:
        return cls(**json.loads(path.read_text()))
