"""One line that tells an operator why an MPI job died before finishing.

Built from what survives a crash: the progress stream (which rank ran which item, with which
pid) and the launcher's log, where Hydra names the pid and signal of a rank that terminated
badly. When one rank dies, MPI often kills the others, so the line also lists every item that
was in flight rather than guessing a single culprit.
"""

from __future__ import annotations

import re

from dmcs.mpi.progress import ProgressTally

_BAD_PID = re.compile(r"PID (\d+) RUNNING AT")
_EXIT_STRING = re.compile(r"EXIT STRING: (.+)")


def explain_crash(tally: ProgressTally, exit_code: int | None, mpi_log: str) -> str:
    """E.g. "MPI job ended before finishing (exit code 9): mpiexec reports rank 1 (…) …"."""
    parts = [f"MPI job ended before finishing (exit code {exit_code})"]
    reported_pids = [int(pid) for pid in _BAD_PID.findall(mpi_log)]
    exit_string = _EXIT_STRING.search(mpi_log)
    if reported_pids:
        cause = f" {exit_string.group(1).strip()}" if exit_string else ""
        parts.append(f"mpiexec reports {describe_rank(tally, reported_pids[0])}{cause}")
    return "; ".join([*parts, *_in_flight_and_kept(tally)])


def explain_vanished_rank(tally: ProgressTally, pid: int) -> str:
    """For a rank that disappeared while MPI kept the job running (a hung launcher)."""
    parts = [
        f"{describe_rank(tally, pid)} exited with items outstanding and MPI did not end the job,"
        " so the supervisor stopped it"
    ]
    return "; ".join([*parts, *_in_flight_and_kept(tally)])


def describe_rank(tally: ProgressTally, pid: int) -> str:
    for rank, info in tally.ranks.items():
        if info["pid"] == pid:
            return f"rank {rank} (pid {pid} on {info['host']})"
    return f"pid {pid}"


def _in_flight_and_kept(tally: ProgressTally) -> list[str]:
    parts = []
    if tally.running:
        in_flight = ", ".join(f"{item} (rank {rank})" for item, rank in tally.running.items())
        parts.append(f"items in flight: {in_flight}")
    parts.append(f"{tally.done} of {tally.total} items finished, their results are kept")
    return parts
