"""One line that tells an operator why an MPI job died before finishing.

Built from what survives a crash: the progress stream (which rank ran what, with which pid)
and the launcher's log (Hydra names the pid and signal of a rank that terminated badly).
"""

from __future__ import annotations

import re

from dmcs.mpi.progress import ProgressTally

_BAD_PID = re.compile(r"PID (\d+) RUNNING AT")
_EXIT_STRING = re.compile(r"EXIT STRING: (.+)")


def explain_crash(
    tally: ProgressTally, exit_code: int | None, mpi_log: str, dead_pids: list[int]
) -> str:
    """E.g. "rank 1 (pid 4242 on node1) died: Killed (signal 9), while running item-003; …"."""
    kept = f"{tally.done} of {tally.total} items finished before it ended; their results are kept"
    pids = dead_pids or [int(pid) for pid in _BAD_PID.findall(mpi_log)]
    ranks_by_pid = {info["pid"]: rank for rank, info in tally.ranks.items()}
    dead_ranks = [ranks_by_pid[pid] for pid in pids if pid in ranks_by_pid]
    if not dead_ranks:
        last_lines = " | ".join(line.strip() for line in mpi_log.strip().splitlines()[-2:])
        return f"MPI job exited with code {exit_code} before finishing ({last_lines}); {kept}"
    rank = dead_ranks[0]
    info = tally.ranks[rank]
    exit_string = _EXIT_STRING.search(mpi_log)
    cause = f": {exit_string.group(1).strip()}" if exit_string else ""
    running = [item for item, on_rank in tally.running.items() if on_rank == rank]
    where = f", while running {', '.join(running)}" if running else ""
    return f"rank {rank} (pid {info['pid']} on {info['host']}) died{cause}{where}; {kept}"
