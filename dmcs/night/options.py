"""What `dmcs night` is asked to do; small defaults so a night takes minutes on 2 cores."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CENTRE_RAFT = ("R22_S11", "R22_S12", "R22_S21", "R22_S22", "R22_S00", "R22_S01",
               "R22_S02", "R22_S10", "R22_S20")
#: Science CCDs of the focal plane (21 rafts of 9).
SCIENCE_CCDS = 189


def science_detectors() -> list[str]:
    """The centre raft first (as small nights have always used it), then every other science
    CCD in the focal plane's order: ``--ccds K`` takes the first K."""
    from dmcs.payloads.camera.focal_plane import FocalPlane  # numpy, astropy: only when used

    return [*CENTRE_RAFT, *(name for name in FocalPlane(16).names if name not in CENTRE_RAFT)]


@dataclass(frozen=True)
class NightOptions:
    """One night: how many visits, how many and how big the CCDs, how fast, where."""

    root: Path
    visits: int = 3
    ccds: int = 2
    ccd_size: int = 256
    cadence: float = 20.0
    lead_time: float = 5.0
    exposure_time_scale: float = 0.05
    calibrations: int = 1
    ranks: int = 2
    deadline: float = 60.0
    broker: str | None = None
    registry: str | None = None
    efd: str | None = None
    local_efd: bool = True
    report: Path | None = None
    live: bool = True
    subname: str | None = None
    #: Nodes of the night's own Kafka cluster (3: replication factor 3, min.insync.replicas 2).
    brokers: int = 1
    #: SASL/SCRAM on that cluster: a user per service with prefix ACLs (dmcs.night.kafka_users).
    secure: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.brokers <= 5:
            raise ValueError(f"--brokers must be 1..5, got {self.brokers}")
        if self.brokers > 1 and self.broker is not None:
            raise ValueError("--brokers starts the night's own cluster; it cannot go with "
                             "--broker (a cluster that is already running)")
        if self.secure and self.broker is not None:
            raise ValueError("--secure makes the night's own cluster; with --broker give the "
                             "site's credentials as LSST_KAFKA_SECURITY_* instead")
        if not 1 <= self.ccds <= SCIENCE_CCDS:
            raise ValueError(f"--ccds must be 1..{SCIENCE_CCDS}, got {self.ccds}")
        if self.visits < 0:
            raise ValueError(f"--visits must be >= 0, got {self.visits}")
        if self.cadence <= 0:
            raise ValueError(f"--cadence must be > 0 s, got {self.cadence}")
        if self.ccd_size % 16 or not 128 <= self.ccd_size <= 8192:
            raise ValueError(f"--ccd-size must be a multiple of 16 in 128..8192, "
                             f"got {self.ccd_size}")

    @property
    def detectors(self) -> list[str]:
        return science_detectors()[: self.ccds]

    @property
    def report_path(self) -> Path:
        return self.report or self.root / "night-report.json"
