"""PromptProcessing's configuration, apart from the service so the CSC module imports light."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from dmcs.sims.data_dirs import data_dir
from dmcs.validation import StrictModel

if TYPE_CHECKING:
    from dmcs.payloads.config import AlertProductionConfig


class PromptProcessingConfig(StrictModel):
    """Where the data is, how many ranks, how long a visit may take."""

    daq_root: Path | None = Field(None, description="DAQ store (default $DMCS_HOME/daq)")
    work_dir: Path | None = Field(None, description="ledger, outputs, APDB, alert files")
    instrument: str = "LSSTCam"
    ranks: int = Field(2, ge=1)
    heartbeat_s: float = Field(1.0, gt=0)
    deadline_s: float = Field(60.0, gt=0)
    status_interval_s: float = Field(1.0, gt=0)
    launcher: Literal["mpiexec", "hostfile", "srun"] = "mpiexec"
    hostfile: str | None = None
    listen_host: str = "127.0.0.1"
    alert_topic: str | None = Field(
        None, description="topic of the alert stream (default lsst-alerts-v11; a test "
        "subname is appended)")
    alert_partitions: int = Field(1, ge=1, description="partitions of the alert topic")
    payload: dict[str, Any] = Field(
        default_factory=dict, description="alert-production config (seed, detector_size, …)"
    )

    def resolved_daq_root(self) -> Path:
        return self.daq_root or data_dir("daq")

    def resolved_work_dir(self) -> Path:
        return self.work_dir or data_dir("prompt_processing")

    def payload_config(self) -> AlertProductionConfig:
        from dmcs.payloads.config import AlertProductionConfig  # numpy, astropy: only when used

        return AlertProductionConfig.model_validate(self.payload)
