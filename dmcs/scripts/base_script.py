"""BaseScript: an OCS script as a component (ts_salobj's BaseScript, on the dmcs CSC kit).

A script is configured once (YAML validated by its pydantic ``config_model``), run once, and
ends DONE, STOPPED or FAILED. ``run()`` marks its steps with ``await self.checkpoint(name)``:
that is where an operator's pause takes effect (``pause`` command, or a ``pauseCheckpoint``
pattern matching the name) and where a ``stopCheckpoint`` pattern stops it. ``stop`` stops it
at once, wherever it is. ``cleanup()`` always runs before the script ends.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from dmcs.csc.base_csc import BaseCsc
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import SCRIPT
from dmcs.sal.topics.controller_command import ExpectedError
from dmcs.state_machines.script_state import (
    FINAL_STATES,
    ScriptState,
    ScriptStateMachine,
    ScriptTransitionNotAllowed,
)
from dmcs.state_machines.summary_state import State
from dmcs.validation import YamlMappingError, describe_problems, parse_yaml_mapping


class _StopAtCheckpoint(Exception):
    """A checkpoint matched the stop pattern."""


class BaseScript(BaseCsc):
    """Subclasses set ``config_model`` and ``description`` and write ``run()``.

    ``total_checkpoints`` (set in ``configure``) makes ``progress`` a fraction; ``remotes``
    names the components the script commands (published in ``description``, with the
    class docstring as its ``help``). ``group_id`` is what ``setGroupId`` set.
    """

    interface = SCRIPT
    config_model: ClassVar[type[BaseModel]]
    description: ClassVar[str] = ""
    remotes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, domain: Domain, index: int, **kwargs: Any) -> None:
        super().__init__(domain, index, initial_state=State.ENABLED, **kwargs)
        self.script_state = ScriptStateMachine()
        self.config: BaseModel | None = None
        self.total_checkpoints = 0
        self.checkpoints_passed = 0
        self.last_checkpoint = ""
        self.reason = ""
        self.group_id = ""
        self._pause_pattern: re.Pattern[str] | None = None
        self._stop_pattern: re.Pattern[str] | None = None
        self._pause_requested = False
        self._resumed = asyncio.Event()
        self._run_task: asyncio.Task[None] | None = None
        self.finished: asyncio.Future[ScriptState] = asyncio.get_running_loop().create_future()

    @property
    def state(self) -> ScriptState:
        return ScriptState(self.script_state.state)

    # --- what a script writes ------------------------------------------------------------

    async def configure(self, config: Any) -> None:
        """Take the validated configuration (and set ``total_checkpoints``)."""

    async def run(self) -> None:
        """The script's work, with ``await self.checkpoint(name)`` between steps."""
        raise NotImplementedError

    async def cleanup(self) -> None:
        """Runs once before the script ends, however it ends."""

    def estimated_duration(self) -> float:
        """Seconds the configured script should take (the ``metadata`` event)."""
        return 0.0

    async def checkpoint(self, name: str, message: str = "") -> None:
        """Mark a step: publish progress; pause or stop here if asked to."""
        self.checkpoints_passed += 1
        self.last_checkpoint = name
        total = max(self.total_checkpoints, self.checkpoints_passed)
        self.log.info("checkpoint %s (%d/%d)", name, self.checkpoints_passed, total)
        await self.controller.evt("progress").set_write(
            fraction=self.checkpoints_passed / total if total else 0.0, message=message or name)
        if self._stop_pattern is not None and self._stop_pattern.fullmatch(name):
            raise _StopAtCheckpoint(f"stop checkpoint {name!r}")
        paused_by_pattern = self._pause_pattern is not None and self._pause_pattern.fullmatch(name)
        if self._pause_requested or paused_by_pattern:
            self._pause_requested = False
            self._resumed.clear()
            await self._move("pause", f"paused at checkpoint {name!r}")
            await self._resumed.wait()
            await self._move("resume", f"resumed at checkpoint {name!r}")
        else:
            await self._write_state()

    # --- commands ------------------------------------------------------------------------

    async def publish_startup_events(self) -> None:
        await self.controller.evt("description").set_write(
            classname=type(self).__name__, description=self.description,
            help=inspect.cleandoc(type(self).__doc__ or ""), remotes=",".join(self.remotes))
        await self._write_checkpoints()
        await self._write_state()

    async def do_configure(self, data: Any) -> str:
        self._require(ScriptState.UNCONFIGURED, "configure")
        config = self.parse_config(data.config)
        self._set_patterns(data.pauseCheckpoint, data.stopCheckpoint)
        if data.logLevel:
            self.log.setLevel(data.logLevel)
        if data.blockId or data.executionId:
            self.log.info("block %r, execution %r", data.blockId, data.executionId)
        try:
            await self.configure(config)
        except ValueError as err:
            raise ExpectedError(f"invalid configuration: {err}") from None
        self.config = config
        await self._write_checkpoints()
        await self.controller.evt("metadata").set_write(
            duration=self.estimated_duration(), totalCheckpoints=self.total_checkpoints)
        await self._move("configure", "configured")
        return "configured"

    def parse_config(self, text: str) -> BaseModel:
        """YAML → the script's config model; ExpectedError names what is wrong."""
        try:
            values = parse_yaml_mapping(text, "config")
        except YamlMappingError as err:
            raise ExpectedError(str(err)) from None
        try:
            return self.config_model.model_validate(values)
        except ValidationError as err:
            raise ExpectedError(f"invalid configuration: {describe_problems(err)}") from None

    async def do_run(self, data: Any) -> str:
        self._require(ScriptState.CONFIGURED, "run")
        await self._move("run", "running")
        self._run_task = asyncio.create_task(self._run_to_end())
        return "running"

    async def do_pause(self, data: Any) -> str:
        self._require(ScriptState.RUNNING, "pause")
        self._pause_requested = True
        return "will pause at the next checkpoint"

    async def do_resume(self, data: Any) -> str:
        self._require(ScriptState.PAUSED, "resume")
        self._resumed.set()
        return "resumed"

    async def do_setGroupId(self, data: Any) -> str:
        self._require(ScriptState.CONFIGURED, "setGroupId")
        self.group_id = data.groupId
        await self._write_state()
        return f"group ID {self.group_id!r}"

    async def do_setCheckpoints(self, data: Any) -> str:
        if self.state in FINAL_STATES:
            raise ExpectedError(f"setCheckpoints not allowed in script state {self.state.name}")
        self._set_patterns(data.pause, data.stop)
        await self._write_checkpoints()
        return "checkpoints set"

    async def do_stop(self, data: Any) -> str:
        await self.request_stop("stop commanded")
        return "stopped"

    async def request_stop(self, reason: str) -> None:
        """Stop the script wherever it is and wait until it has ended (STOPPED)."""
        self._require_allowed("stop")
        if self._run_task is None:
            await self._move("stop", reason)
            await self._end("finish", reason)
            return
        self.reason = reason
        self._run_task.cancel()
        await asyncio.shield(self.finished)

    # --- internals -----------------------------------------------------------------------

    async def _run_to_end(self) -> None:
        try:
            await self.run()
        except asyncio.CancelledError:
            await self._move("stop", self.reason or "stopped")
        except _StopAtCheckpoint as stop:
            await self._move("stop", str(stop))
        except Exception as err:
            self.log.exception("script failed")
            await self._move("fail", f"{type(err).__name__}: {err}")
        else:
            await self._move("end", "ending")
        try:
            await self.cleanup()
        except Exception as err:
            self.log.exception("cleanup failed")
            if self.script_state.allowed("fail"):
                await self._move("fail", f"cleanup failed: {type(err).__name__}: {err}")
        await self._end("finish", "done" if self.state == ScriptState.ENDING else self.reason)

    async def _end(self, trigger: str, reason: str) -> None:
        await self._move(trigger, reason)
        if not self.finished.done():
            self.finished.set_result(self.state)

    async def _move(self, trigger: str, reason: str) -> None:
        self.script_state.fire(trigger)
        self.reason = reason
        self.log.info("%s: %s", self.state.name, reason)
        await self._write_state()

    async def _write_state(self) -> None:
        await self.controller.evt("state").set_write(
            state=int(self.state), reason=self.reason[:1000], groupId=self.group_id,
            lastCheckpoint=self.last_checkpoint, numCheckpoints=self.checkpoints_passed)

    async def _write_checkpoints(self) -> None:
        await self.controller.evt("checkpoints").set_write(
            pause=self._pause_pattern.pattern if self._pause_pattern else "",
            stop=self._stop_pattern.pattern if self._stop_pattern else "")

    def _set_patterns(self, pause: str, stop: str) -> None:
        self._pause_pattern = _compile(pause, "pause")
        self._stop_pattern = _compile(stop, "stop")

    def _require(self, state: ScriptState, command: str) -> None:
        if self.state != state:
            raise ExpectedError(f"{command} not allowed in script state {self.state.name}")

    def _require_allowed(self, trigger: str) -> None:
        if not self.script_state.allowed(trigger):
            raise ExpectedError(str(ScriptTransitionNotAllowed(
                f"{trigger} not allowed in script state {self.state.name}")))


def _compile(pattern: str, what: str) -> re.Pattern[str] | None:
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except re.error as err:
        raise ExpectedError(f"{what} checkpoint {pattern!r} is not a regular expression: "
                            f"{err}") from None
