"""DiskMonitor: free space of a data disk, and a warning event when it runs low."""

from __future__ import annotations

from dmcs.sal.field_types import Bool, Double, String
from dmcs.sal.interface import Interface
from dmcs.sal.interfaces.generic import GENERIC_COMMANDS, GENERIC_EVENTS
from dmcs.sal.sample import SalSample


class DiskSpaceTelemetry(SalSample):
    """Free and total space of the watched path, in GB."""

    path: String = ""
    freeGB: Double = 0.0
    totalGB: Double = 0.0


class LowSpaceEvent(SalSample):
    """Published when free space crosses the threshold, either way."""

    path: String = ""
    low: Bool = False
    freeGB: Double = 0.0
    thresholdGB: Double = 0.0


class SetThresholdCommand(SalSample):
    """Warn below this many GB free (until the next start)."""

    thresholdGB: Double = 0.0


DISK_MONITOR = Interface(
    name="DiskMonitor",
    indexed=False,
    description="Watches the free space of a data disk.",
    commands={**GENERIC_COMMANDS, "setThreshold": SetThresholdCommand},
    events={**GENERIC_EVENTS, "lowSpace": LowSpaceEvent},
    telemetry={"diskSpace": DiskSpaceTelemetry},
)
