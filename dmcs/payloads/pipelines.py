"""The payload registry the MPI layer runs: pipeline name -> pipeline class.

Every class follows the MPI layer's structural ``Pipeline`` protocol (``name``, ``summary``,
``data_query_help``, ``__init__(config, output_dir)``, ``plan(data_query)``, ``setup()``,
``run_item(item)``, ``finalize(results)``); mypy checks each entry against it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dmcs.payloads.association.alert_production import AlertProductionPipeline
from dmcs.payloads.calibration.calibration_pipelines import BiasPipeline, DarkPipeline, FlatPipeline
from dmcs.services.ocps.catch_up import CatchUpPipeline
from dmcs.services.prompt_processing.ccd_pipeline import PromptVisitPipeline

if TYPE_CHECKING:
    from dmcs.mpi.pipeline import Pipeline

PIPELINES: dict[str, type[Pipeline]] = {
    AlertProductionPipeline.name: AlertProductionPipeline,
    BiasPipeline.name: BiasPipeline,
    DarkPipeline.name: DarkPipeline,
    FlatPipeline.name: FlatPipeline,
    PromptVisitPipeline.name: PromptVisitPipeline,
    CatchUpPipeline.name: CatchUpPipeline,
}
