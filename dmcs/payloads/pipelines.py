"""The science payloads' pipelines: name -> pipeline class (the services add their own in
:mod:`dmcs.services.pipelines`, the registry the MPI layer runs).

Every class follows the MPI layer's structural ``Pipeline`` protocol (``name``, ``summary``,
``data_query_help``, ``__init__(config, output_dir)``, ``plan(data_query)``, ``setup()``,
``run_item(item)``, ``finalize(results)``); mypy checks each entry against it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dmcs.payloads.association.alert_production import AlertProductionPipeline
from dmcs.payloads.calibration.calibration_pipelines import BiasPipeline, DarkPipeline, FlatPipeline

if TYPE_CHECKING:
    from dmcs.mpi.pipeline import Pipeline

PIPELINES: dict[str, type[Pipeline]] = {
    AlertProductionPipeline.name: AlertProductionPipeline,
    BiasPipeline.name: BiasPipeline,
    DarkPipeline.name: DarkPipeline,
    FlatPipeline.name: FlatPipeline,
}
