"""Script: one OCS script, indexed by its script id (ts_xml's Script interface).

Commands ``configure(config, logLevel, pauseCheckpoint, stopCheckpoint)``, ``run``,
``resume``, ``setCheckpoints(pause, stop)`` and ``stop``, and events ``state``,
``checkpoints``, ``description`` and ``metadata``, as the observatory's. ``config`` is YAML.
Checkpoint patterns are regular expressions matched against the whole checkpoint name.

dmcs extensions: command ``pause`` (pause at the next checkpoint, whatever its name) and
event ``progress`` (fraction of the script's checkpoints passed, and what it is doing).
"""

from __future__ import annotations

from dmcs.sal.field_types import Double, Int, String
from dmcs.sal.interface import Interface
from dmcs.sal.interfaces.generic import GENERIC_COMMANDS, GENERIC_EVENTS
from dmcs.sal.sample import SalSample


class ConfigureCommand(SalSample):
    """Configure the script (YAML) and set its log level and checkpoints; then `run` it."""

    config: String = ""
    logLevel: Int = 0
    pauseCheckpoint: String = ""
    stopCheckpoint: String = ""


class RunCommand(SalSample):
    """Run a configured script."""


class PauseCommand(SalSample):
    """dmcs extension: pause at the next checkpoint."""


class ResumeCommand(SalSample):
    """Resume a paused script."""


class SetCheckpointsCommand(SalSample):
    """Set the pause and stop checkpoint patterns (regular expressions; "" matches none)."""

    pause: String = ""
    stop: String = ""


class StopCommand(SalSample):
    """Stop the script now (it cleans up and ends STOPPED)."""


class StateEvent(SalSample):
    """The script's state (ScriptState value), why, and the checkpoints passed so far."""

    state: Int = 0
    reason: String = ""
    numCheckpoints: Int = 0
    lastCheckpoint: String = ""


class CheckpointsEvent(SalSample):
    """The pause and stop checkpoint patterns in effect."""

    pause: String = ""
    stop: String = ""


class DescriptionEvent(SalSample):
    """What the script is: class name, one-line description, components it commands."""

    classname: String = ""
    description: String = ""
    remotes: String = ""


class MetadataEvent(SalSample):
    """What the configured script will do: its estimated duration and checkpoint count."""

    duration: Double = 0.0
    totalCheckpoints: Int = 0


class ProgressEvent(SalSample):
    """dmcs extension: fraction of checkpoints passed (0-1) and the current step."""

    fraction: Double = 0.0
    message: String = ""


SCRIPT_GENERIC_COMMANDS = ("setLogLevel", "setAuthList")

SCRIPT = Interface(
    name="Script",
    indexed=True,
    description="An OCS script (indexed by script id): configure, run, pause, resume, stop.",
    commands={
        **{name: GENERIC_COMMANDS[name] for name in SCRIPT_GENERIC_COMMANDS},
        "configure": ConfigureCommand,
        "run": RunCommand,
        "pause": PauseCommand,
        "resume": ResumeCommand,
        "setCheckpoints": SetCheckpointsCommand,
        "stop": StopCommand,
    },
    events={
        **GENERIC_EVENTS,
        "state": StateEvent,
        "checkpoints": CheckpointsEvent,
        "description": DescriptionEvent,
        "metadata": MetadataEvent,
        "progress": ProgressEvent,
    },
    telemetry={},
)
