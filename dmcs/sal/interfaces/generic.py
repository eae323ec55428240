"""Commands and events every CSC has: the observatory's generic topics (ts_xml SALGenerics.xml).

dmcs extensions, kept on purpose: the `setAuthList` command and `authList` event
(authorization, which the observatory dropped and our users keep).
"""

from __future__ import annotations

from dmcs.sal.field_types import Bool, Double, Int, String
from dmcs.sal.sample import SalSample


class StartCommand(SalSample):
    """Go from STANDBY to DISABLED, applying a configuration."""

    configurationOverride: String = ""


class EnableCommand(SalSample):
    """Go from DISABLED to ENABLED."""


class DisableCommand(SalSample):
    """Go from ENABLED to DISABLED."""


class StandbyCommand(SalSample):
    """Go from DISABLED or FAULT to STANDBY."""


class ExitControlCommand(SalSample):
    """Go from STANDBY to OFFLINE and quit."""


class SetLogLevelCommand(SalSample):
    """Set the Python log level of the CSC (or of one of its subsystems)."""

    level: Int = 20
    subsystem: String = ""


class SetAuthListCommand(SalSample):
    """Set who may command the CSC. Comma-separated; a leading +/- adds to/removes from it."""

    authorizedUsers: String = ""
    nonAuthorizedCSCs: String = ""


class AbortCommand(SalSample):
    """Abort every running service command (state commands finish)."""


class EnterControlCommand(SalSample):
    """Leave OFFLINE (refused: a dmcs CSC starts in STANDBY or the state it is run in)."""


class HeartbeatEvent(SalSample):
    """Published every second while the CSC runs."""

    heartbeat: Bool = False


class ClockOffsetEvent(SalSample):
    """Offset of this CSC's clock from the observatory's reference (seconds)."""

    offset: Double = 0.0


class StatusCodeEvent(SalSample):
    """A bit mask of conditions the CSC reports without going to FAULT."""

    mask: Int = 0


class SummaryStateEvent(SalSample):
    """The summary state (DISABLED=1, ENABLED=2, FAULT=3, OFFLINE=4, STANDBY=5)."""

    summaryState: Int = 0


class ErrorCodeEvent(SalSample):
    """Why the CSC went to FAULT."""

    errorCode: Int = 0
    errorReport: String = ""
    traceback: String = ""


class LogLevelEvent(SalSample):
    """The current log level."""

    level: Int = 0
    subsystem: String = ""


class LogMessageEvent(SalSample):
    """A Python log record of the CSC."""

    name: String = ""
    level: Int = 0
    message: String = ""
    traceback: String = ""
    filePath: String = ""
    functionName: String = ""
    lineNumber: Int = 0
    process: Int = 0
    timestamp: Double = 0.0


class SoftwareVersionsEvent(SalSample):
    """Versions of the software this CSC runs."""

    salVersion: String = ""
    xmlVersion: String = ""
    cscVersion: String = ""
    subsystemVersions: String = ""


class SimulationModeEvent(SalSample):
    """0 for real hardware, non-zero when simulating."""

    mode: Int = 0


class ConfigurationsAvailableEvent(SalSample):
    """Named configuration overrides the start command accepts."""

    overrides: String = ""
    version: String = ""
    url: String = ""
    schemaVersion: String = ""


class ConfigurationAppliedEvent(SalSample):
    """The configuration applied by the last start command."""

    configurations: String = ""
    version: String = ""
    url: String = ""
    schemaVersion: String = ""
    otherInfo: String = ""


class AuthListEvent(SalSample):
    """Who may command the CSC."""

    authorizedUsers: String = ""
    nonAuthorizedCSCs: String = ""


GENERIC_COMMANDS: dict[str, type[SalSample]] = {
    "start": StartCommand,
    "enable": EnableCommand,
    "disable": DisableCommand,
    "standby": StandbyCommand,
    "exitControl": ExitControlCommand,
    "setLogLevel": SetLogLevelCommand,
    "setAuthList": SetAuthListCommand,
    "abort": AbortCommand,
    "enterControl": EnterControlCommand,
}

GENERIC_EVENTS: dict[str, type[SalSample]] = {
    "heartbeat": HeartbeatEvent,
    "summaryState": SummaryStateEvent,
    "errorCode": ErrorCodeEvent,
    "logLevel": LogLevelEvent,
    "logMessage": LogMessageEvent,
    "softwareVersions": SoftwareVersionsEvent,
    "simulationMode": SimulationModeEvent,
    "configurationsAvailable": ConfigurationsAvailableEvent,
    "configurationApplied": ConfigurationAppliedEvent,
    "authList": AuthListEvent,
    "clockOffset": ClockOffsetEvent,
    "statusCode": StatusCodeEvent,
}
