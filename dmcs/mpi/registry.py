"""Which pipelines a job can name: the science payloads plus the machinery's own selftest.

The payload registry is imported lazily, so the MPI layer works (and is testable) before or
without the science package, and importing dmcs.mpi stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from dmcs.mpi.selftest import SelftestPipeline

_PAYLOAD_REGISTRY_MODULE = "dmcs.payloads.pipelines"


class UnknownPipelineError(LookupError):
    """The job names a pipeline nobody registered."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown pipeline {name!r}; known pipelines: {', '.join(known)}")
        self.name = name
        self.known = known


def known_pipelines() -> dict[str, type]:
    """Every runnable pipeline by name; payload pipelines win over ours on a name clash."""
    pipelines: dict[str, type] = {SelftestPipeline.name: SelftestPipeline}
    pipelines.update(_payload_pipelines())
    return dict(sorted(pipelines.items()))


def pipeline_class(name: str) -> type:
    """The class registered under `name`; UnknownPipelineError lists the alternatives."""
    pipelines = known_pipelines()
    if name not in pipelines:
        raise UnknownPipelineError(name, list(pipelines))
    return pipelines[name]


def _payload_pipelines() -> dict[str, Any]:
    try:
        module = importlib.import_module(_PAYLOAD_REGISTRY_MODULE)
    except ModuleNotFoundError as error:
        if error.name is not None and _PAYLOAD_REGISTRY_MODULE.startswith(error.name):
            return {}
        raise
    return dict(module.PIPELINES)
