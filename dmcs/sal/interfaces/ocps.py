"""The OCPS (OCS-driven batch) component: pipelines run on request of the OCS (ts_xml OCPS)."""

from __future__ import annotations

from dmcs.sal.field_types import Int, String
from dmcs.sal.interface import Interface
from dmcs.sal.interfaces.generic import GENERIC_COMMANDS, GENERIC_EVENTS
from dmcs.sal.sample import SalSample


class ExecuteCommand(SalSample):
    """Execute a pipeline on selected data with optional config overrides."""

    pipeline: String = ""
    version: String = ""
    config: String = ""
    data_query: String = ""
    prereq_jobs: String = ""
    output_dataset_types: String = ""


class AbortJobCommand(SalSample):
    """Abort a pipeline execution job."""

    job_id: String = ""


class JobIdEvent(SalSample):
    """A job was triggered: its id, and what triggered it ("cmd_execute" for a command)."""

    event_name: String = ""
    seq_num: Int = 0
    job_id: String = ""


class JobResultEvent(SalSample):
    """A job ended: its process exit code and its result as JSON."""

    job_id: String = ""
    exit_code: Int = 0
    result: String = ""


OCPS = Interface(
    name="OCPS",
    indexed=True,
    description="OCS-driven batch processing: pipelines run as MPI jobs on the job manager.",
    commands={**GENERIC_COMMANDS, "execute": ExecuteCommand, "abort_job": AbortJobCommand},
    events={**GENERIC_EVENTS, "job_id": JobIdEvent, "job_result": JobResultEvent},
    telemetry={},
)
