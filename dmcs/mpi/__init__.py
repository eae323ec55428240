"""dmcs.mpi."""
