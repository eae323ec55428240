"""MPI batch jobs: launch, schedule, follow, cancel and retry pipelines over MPI ranks.

Where things live: `pipeline` (the Protocol a payload matches), `registry` (names to
classes), `selftest` (the machinery's own test pipeline), `jobs` (JobManager, the asyncio
API), `job_store` (SQLite records), `supervisor` (one process per job watching the ranks),
`launch_command` (mpiexec / srun / hostfile argv), `worker` (the rank entry point),
`scheduler` (dynamic item scheduling), `progress` (the JSON-lines stream and its readers),
`crash_report` and `processes` (explaining and stopping a dead job). Guide: docs/batch.md.
"""
