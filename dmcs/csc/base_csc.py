"""BaseCsc: a commandable state-machine component with the observatory's generic behaviour."""

from __future__ import annotations

import asyncio
import logging
import platform
from typing import Any, ClassVar

import aiokafka

import dmcs
from dmcs.csc.auth_list import AuthList
from dmcs.csc.log_forwarder import LogForwarder
from dmcs.sal.controller import Controller
from dmcs.sal.domain import Domain
from dmcs.sal.interface import Interface
from dmcs.sal.sample import SalSample
from dmcs.sal.topics.controller_command import ExpectedError
from dmcs.state_machines.summary_state import (
    STATE_COMMANDS,
    State,
    SummaryStateMachine,
    TransitionNotAllowed,
)

HEARTBEAT_INTERVAL = 1.0


class BaseCsc:
    """The generic commands, events and state machine every DM service shares.

    A subclass adds its service commands as ``async def do_<command>(self, data)`` methods,
    and may hook state changes with ``begin_<cmd>`` / ``end_<cmd>`` (a failing hook fails the
    command and leaves the state as it was). ``await csc.done`` resolves when it goes OFFLINE.
    """

    valid_simulation_modes: ClassVar[tuple[int, ...]] = (0,)
    version: ClassVar[str] = dmcs.__version__

    def __init__(
        self,
        domain: Domain,
        interface: Interface,
        index: int = 0,
        *,
        initial_state: State = State.STANDBY,
        simulation_mode: int = 0,
    ) -> None:
        if simulation_mode not in self.valid_simulation_modes:
            raise ValueError(
                f"simulation mode {simulation_mode} is not one of {self.valid_simulation_modes}"
            )
        if initial_state == State.OFFLINE:
            raise ValueError("a CSC cannot start in OFFLINE")
        self.domain = domain
        self.interface = interface
        self.index = index
        self.simulation_mode = simulation_mode
        self.controller = Controller(domain, interface, index)
        self.identity = self.controller.identity
        self.log = logging.getLogger(f"dmcs.csc.{self.identity}")
        self.summary = SummaryStateMachine(initial_state)
        self.auth = AuthList()
        self.controller.dispatcher.authorize = self._authorize
        self._state_lock = asyncio.Lock()
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._log_forwarder = LogForwarder(self.controller.evt("logMessage"))
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._register_handlers()

    @property
    def summary_state(self) -> State:
        return self.summary.state

    def _register_handlers(self) -> None:
        generic = {
            **{name: self._state_command_handler(name) for name in STATE_COMMANDS},
            "setLogLevel": self._do_set_log_level,
            "setAuthList": self._do_set_auth_list,
            "abort": self._do_abort,
        }
        for name in self.interface.commands:
            handler = generic.get(name) or getattr(self, f"do_{name}", None)
            if handler is not None:
                self.controller.set_handler(name, handler)

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, announce ourselves (initial events), start the heartbeat."""
        await self.controller.start()
        self.log.addHandler(self._log_forwarder)
        evt = self.controller.evt
        await evt("softwareVersions").set_write(
            salVersion=dmcs.__version__, xmlVersion=self.interface.name,
            kafkaVersion=f"aiokafka {aiokafka.__version__}", cscVersion=self.version,
            subsystemVersions=f"python {platform.python_version()}",
        )
        await evt("simulationMode").set_write(mode=self.simulation_mode)
        await evt("logLevel").set_write(level=self.log.getEffectiveLevel())
        await self._write_auth_list()
        await self.publish_startup_events()
        await self._write_summary_state()
        self._heartbeat_task = asyncio.create_task(self._heartbeat_loop())

    async def publish_startup_events(self) -> None:
        """Hook for subclasses with events to announce at start-up."""

    async def close(self) -> None:
        """Stop the heartbeat and the command reader; flush what was written."""
        self.log.removeHandler(self._log_forwarder)
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
            await asyncio.gather(self._heartbeat_task, return_exceptions=True)
        await self.controller.close()
        if not self.done.done():
            self.done.set_result(None)

    async def __aenter__(self) -> BaseCsc:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _heartbeat_loop(self) -> None:
        heartbeat = self.controller.evt("heartbeat")
        while True:
            await heartbeat.write()
            await asyncio.sleep(HEARTBEAT_INTERVAL)

    # --- summary state --------------------------------------------------------------------

    def _state_command_handler(self, name: str) -> Any:
        async def handle(data: SalSample) -> str:
            return await self._change_state(name, data)

        return handle

    async def _change_state(self, trigger: str, data: SalSample) -> str:
        async with self._state_lock:
            before = self.summary.state
            try:
                after = self.summary.target(trigger)
            except TransitionNotAllowed as err:
                raise ExpectedError(str(err)) from None
            await self._run_hook(f"begin_{trigger}", data)
            self.summary.fire(trigger)
            try:
                await self._run_hook(f"end_{trigger}", data)
            except Exception:
                self.summary.force(before)
                raise
            await self.handle_summary_state()
            await self._write_summary_state()
        if after == State.OFFLINE:
            command_task = asyncio.current_task()
            assert command_task is not None
            # Close once the command's own task has sent its COMPLETE ack.
            command_task.add_done_callback(lambda _: asyncio.ensure_future(self.close()))
        return f"{before.name} -> {after.name}"

    async def _run_hook(self, name: str, data: SalSample) -> None:
        hook = getattr(self, name, None)
        if hook is not None:
            await hook(data)

    async def handle_summary_state(self) -> None:
        """Called after every state change; start or stop service activity here."""

    async def _write_summary_state(self) -> None:
        await self.controller.evt("summaryState").set_write(
            summaryState=int(self.summary.state)
        )

    def assert_enabled(self, what: str = "command") -> None:
        """Fail a service command unless ENABLED (raises ExpectedError naming the state)."""
        if self.summary.state != State.ENABLED:
            raise ExpectedError(f"{what} not allowed in state {self.summary.state.name}")

    async def fault(self, code: int, report: str, traceback: str = "") -> None:
        """Go to FAULT, publishing why (errorCode event)."""
        async with self._state_lock:
            await self.controller.evt("errorCode").set_write(
                errorCode=code, errorReport=report[:1000], traceback=traceback[:4000]
            )
            if self.summary.allowed("fault"):
                self.summary.fire("fault")
                self.log.error("FAULT %d: %s", code, report)
                await self.handle_summary_state()
                await self._write_summary_state()

    # --- generic commands -----------------------------------------------------------------

    async def _do_set_log_level(self, data: Any) -> str:
        self.log.setLevel(data.level)
        await self.controller.evt("logLevel").set_write(level=self.log.getEffectiveLevel())
        return f"log level {logging.getLevelName(self.log.getEffectiveLevel())}"

    async def _do_set_auth_list(self, data: Any) -> str:
        try:
            self.auth.update(data.authorizedUsers, data.nonAuthorizedCSCs)
        except ValueError as err:
            raise ExpectedError(str(err)) from None
        await self._write_auth_list()
        return "auth list updated"

    async def _write_auth_list(self) -> None:
        await self.controller.evt("authList").set_write(
            authorizedUsers=",".join(sorted(self.auth.authorized_users)),
            nonAuthorizedCSCs=",".join(sorted(self.auth.non_authorized_cscs)),
        )

    async def _do_abort(self, data: Any) -> str:
        count = self.controller.dispatcher.abort(data, data.seqNum)
        return f"aborted {count} command(s)"

    def _authorize(self, data: SalSample) -> bool:
        return self.auth.allows(data.private_identity, self.domain.identity, self.identity)
