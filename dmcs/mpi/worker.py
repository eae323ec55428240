"""The rank-side entry point: `mpiexec -n N python -m dmcs.mpi.worker JOB_DIR/job.json`.

Every rank builds the pipeline and runs `setup`, all ranks meet at a barrier, then rank 0
coordinates (and works) while the others serve items. Rank 0 writes the progress stream and
runs `finalize`. Exit codes: 0 all items succeeded, 1 some items failed, 2 the job could not
run (bad pipeline, setup or finalize failed); anything unexpected aborts every rank.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import traceback
from pathlib import Path

from mpi4py import MPI

from dmcs.mpi.job_spec import JobSpec
from dmcs.mpi.pipeline import Pipeline
from dmcs.mpi.progress import ProgressWriter
from dmcs.mpi.registry import pipeline_class
from dmcs.mpi.scheduler import COORDINATOR_RANK, Coordinator, serve_items, wait_at_barrier

EXIT_ALL_SUCCEEDED = 0
EXIT_ITEMS_FAILED = 1
EXIT_JOB_ERROR = 2
_EXIT_UNEXPECTED = 70


def run_job(comm: MPI.Comm, spec: JobSpec) -> int:
    """Run the whole job on this rank; returns this rank's exit code."""
    rank = comm.Get_rank()
    progress = ProgressWriter(spec.progress_path) if rank == COORDINATOR_RANK else None
    started = time.monotonic()
    if progress is not None:
        progress.emit("job_started", total=len(spec.items), ranks=comm.Get_size(), items=spec.items)
    identities = comm.gather((socket.gethostname(), os.getpid()), root=COORDINATOR_RANK)
    if progress is not None and identities is not None:
        for each_rank, (host, pid) in enumerate(identities):
            progress.emit("rank_started", rank=each_rank, host=host, pid=pid)

    pipeline, setup_error = _build_and_set_up(spec)
    wait_at_barrier(comm)
    setup_errors = comm.allgather(setup_error)
    if pipeline is None or any(setup_errors):
        if progress is not None:
            failed_rank, error = next((r, e) for r, e in enumerate(setup_errors) if e)
            progress.emit("job_error", error=f"setup failed on rank {failed_rank}", traceback=error)
        return EXIT_JOB_ERROR

    if progress is None:
        serve_items(comm, pipeline)
        return EXIT_ALL_SUCCEEDED
    outcomes = Coordinator(comm, pipeline, spec.items, progress).run()
    results = {item: o.result for item, o in outcomes.items() if o.result is not None}
    try:
        summary = pipeline.finalize(results)
    except Exception:
        progress.emit("job_error", error="finalize failed", traceback=traceback.format_exc())
        return EXIT_JOB_ERROR
    failed = len(outcomes) - len(results)
    progress.emit(
        "job_finished",
        summary=summary,
        succeeded=len(results),
        failed=failed,
        seconds=time.monotonic() - started,
    )
    return EXIT_ITEMS_FAILED if failed else EXIT_ALL_SUCCEEDED


def _build_and_set_up(spec: JobSpec) -> tuple[Pipeline | None, str | None]:
    try:
        pipeline: Pipeline = pipeline_class(spec.pipeline)(spec.config, spec.output_dir)
        pipeline.setup()
    except Exception:
        return None, traceback.format_exc()
    return pipeline, None


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) != 1:
        print("usage: python -m dmcs.mpi.worker JOB_SPEC.json", file=sys.stderr)
        return EXIT_JOB_ERROR
    comm = MPI.COMM_WORLD
    try:
        return run_job(comm, JobSpec.read(Path(arguments[0])))
    except Exception:
        traceback.print_exc()
        sys.stderr.flush()
        comm.Abort(_EXIT_UNEXPECTED)
        return _EXIT_UNEXPECTED


if __name__ == "__main__":
    sys.exit(main())
