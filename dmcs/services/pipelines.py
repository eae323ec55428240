"""Every pipeline a batch job can name: the science payloads' and the services' own (prompt
processing's warm-pool item, the OCPS catch-up of late visits). The MPI layer imports this
module by name, lazily (:mod:`dmcs.mpi.registry`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dmcs.payloads.pipelines import PIPELINES as PAYLOAD_PIPELINES
from dmcs.services.ocps.catch_up import CatchUpPipeline
from dmcs.services.prompt_processing.ccd_pipeline import PromptVisitPipeline

if TYPE_CHECKING:
    from dmcs.mpi.pipeline import Pipeline

PIPELINES: dict[str, type[Pipeline]] = {
    **PAYLOAD_PIPELINES,
    PromptVisitPipeline.name: PromptVisitPipeline,
    CatchUpPipeline.name: CatchUpPipeline,
}
