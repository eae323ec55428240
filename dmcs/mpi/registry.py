"""Which pipelines a job can name: the science payloads plus the machinery's own selftest.

The payload registry is imported lazily and only when a job names a payload, so the MPI layer
works (and is testable) without the science package, and a selftest rank does not pay for the
science imports. The machinery's own names are reserved: a payload cannot shadow `selftest`.
"""

from __future__ import annotations

import importlib

from dmcs.mpi.pipeline import Pipeline
from dmcs.mpi.selftest import SelftestPipeline

_PAYLOAD_REGISTRY_MODULE = "dmcs.services.pipelines"
_MACHINERY_PIPELINES: dict[str, type[Pipeline]] = {SelftestPipeline.name: SelftestPipeline}


class UnknownPipelineError(LookupError):
    """The job names a pipeline nobody registered."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown pipeline {name!r}; known pipelines: {', '.join(known)}")
        self.name = name
        self.known = known


def known_pipelines() -> dict[str, type[Pipeline]]:
    """Every runnable pipeline by name."""
    return dict(sorted({**_payload_pipelines(), **_MACHINERY_PIPELINES}.items()))


def pipeline_class(name: str) -> type[Pipeline]:
    """The class registered under `name`; UnknownPipelineError lists the alternatives."""
    if name in _MACHINERY_PIPELINES:
        return _MACHINERY_PIPELINES[name]
    pipelines = known_pipelines()
    if name not in pipelines:
        raise UnknownPipelineError(name, list(pipelines))
    return pipelines[name]


def _payload_pipelines() -> dict[str, type[Pipeline]]:
    try:
        module = importlib.import_module(_PAYLOAD_REGISTRY_MODULE)
    except ModuleNotFoundError as error:
        if error.name is not None and _PAYLOAD_REGISTRY_MODULE.startswith(error.name):
            return {}
        raise
    return dict(module.PIPELINES)
