"""Science payloads: simulated camera data and the numerics that process it.

Each module holds one concept (camera, ISR, differencing, ...); `pipelines` composes them into
the work-item pipelines that the MPI layer runs.
"""
