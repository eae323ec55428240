"""BaseCsc: a commandable state-machine component with the observatory's generic behaviour."""

from __future__ import annotations

import asyncio
import logging
import math
import platform
import sys
import time
import traceback
from typing import Any, ClassVar

import dmcs
from dmcs import metrics
from dmcs.async_resource import AsyncResource
from dmcs.csc.auth_list import AuthList
from dmcs.csc.log_forwarder import LogForwarder
from dmcs.sal.controller import CLAIM_SECONDS, Controller
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
#: How far (in intervals) one gap between heartbeats may differ from the interval.
_PULL = 0.2
#: Commands BaseCsc handles itself; read by their own consumer so a busy service topic
#: never delays a state change.
REPUBLISH_ATTEMPTS = 5
REPUBLISH_RETRY_SECONDS = 0.5
#: Events republished when the broker lost them, so late joiners still find them.
LATE_JOINER_EVENTS = ("summaryState", "softwareVersions", "simulationMode", "logLevel",
                      "authList", "configurationsAvailable", "configurationApplied", "errorCode")


class BaseCsc(AsyncResource):
    """The generic commands, events and state machine every DM service shares.

    A component is declared once, by its subclass: ``interface`` (name, indexed or not,
    topics), ``version`` (the dmcs package's unless it says otherwise; the services ship and
    change together), ``valid_simulation_modes`` (and, for a ConfigurableCsc,
    ``config_model`` with packaged defaults). Service commands are
    ``async def do_<command>(self, data)`` methods; state changes may be hooked with
    ``begin_<cmd>`` / ``end_<cmd>`` (a failing hook fails the command and leaves the state as
    it was) and ``handle_summary_state``. ``fault()`` may be called from anywhere, hooks
    included. ``await csc.done`` resolves when the CSC goes OFFLINE.
    """

    interface: ClassVar[Interface]
    valid_simulation_modes: ClassVar[tuple[int, ...]] = (0,)
    version: ClassVar[str] = dmcs.__version__

    def __init__(
        self,
        domain: Domain,
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
        handlers = self._command_handlers()
        self.domain = domain
        self.index = index
        self.simulation_mode = simulation_mode
        self.controller = Controller(domain, self.interface, index)
        self.identity = self.controller.identity
        self.log = logging.getLogger(f"dmcs.csc.{self.identity}")
        self.summary = SummaryStateMachine(initial_state)
        self.auth = AuthList()
        self.controller.dispatcher.authorize = self._authorize
        self._state_lock = asyncio.Lock()
        self._pending_fault: tuple[int, str] | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._log_forwarder = LogForwarder(self.controller.evt("logMessage"))
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for name, handler in handlers.items():
            self.controller.set_handler(name, handler)
        domain.on_broker_reset(self._republish_late_joiner_events)

    def _command_handlers(self) -> dict[str, Any]:
        """Every command's handler; a TypeError names commands without one, and strays.

        The generic commands are handled here; every other command needs ``do_<name>`` and
        every ``do_<name>`` must be a command of the interface (salobj's rule: a typo in
        either place shows when the CSC is built, not when an operator sends the command).
        """
        generic: dict[str, Any] = {
            **{name: self._state_command_handler(name) for name in STATE_COMMANDS},
            "enterControl": self._do_enter_control,
            "setLogLevel": self._do_set_log_level,
            "setAuthList": self._do_set_auth_list,
            "abort": self._do_abort,
        }
        commands = self.interface.commands
        missing = sorted(n for n in commands if n not in generic and not hasattr(self, f"do_{n}"))
        strays = sorted(a[3:] for a in dir(type(self))
                        if a.startswith("do_") and a[3:] not in commands)
        problems = []
        if missing:
            problems.append(f"commands without a do_ method: {', '.join(missing)}")
        if strays:
            problems.append(f"do_ methods for commands {self.interface.name} does not have: "
                            f"{', '.join(strays)}")
        if problems:
            raise TypeError(f"{type(self).__name__}: {'; '.join(problems)}")
        return {n: generic.get(n) or getattr(self, f"do_{n}") for n in commands}

    @property
    def summary_state(self) -> State:
        return self.summary.state

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self, *, claim_seconds: float = CLAIM_SECONDS) -> None:
        """Claim our identity, announce ourselves (initial events), start heartbeats.

        Raises DuplicateInstanceError if this component and index already runs, or if a twin
        started at the same moment claimed it first (see `Controller.start`).
        """
        await self.controller.start(claim_seconds)
        self.log.addHandler(self._log_forwarder)
        evt = self.controller.evt
        await evt("softwareVersions").set_write(
            salVersion=dmcs.__version__, xmlVersion=dmcs.XML_VERSION, cscVersion=self.version,
            subsystemVersions=f"python {platform.python_version()}",
        )
        await evt("simulationMode").set_write(mode=self.simulation_mode)
        await evt("logLevel").set_write(level=self.log.getEffectiveLevel())
        await self._write_auth_list()
        await self.publish_startup_events()
        if self.summary.state != State.STANDBY:
            await self.handle_summary_state()
        await self._write_summary_state()
        self._heartbeat_task = asyncio.create_task(self._heartbeat_loop())

    async def publish_startup_events(self) -> None:
        """Hook for subclasses with events to announce at start-up (before the first
        summaryState; a CSC started in DISABLED or ENABLED then gets `handle_summary_state`,
        so its work starts as if it had been commanded there)."""

    async def close(self) -> None:
        """Stop the heartbeat and the command reader; say OFFLINE; flush what was written.

        A CSC closed this way (exitControl, SIGTERM) is seen as stopped cleanly; one whose
        heartbeats stop in any other state is seen as crashed.
        """
        self.domain.remove_broker_reset_callback(self._republish_late_joiner_events)
        self.log.removeHandler(self._log_forwarder)
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
            await asyncio.gather(self._heartbeat_task, return_exceptions=True)
            if self.summary.state != State.OFFLINE:
                self.summary.force(State.OFFLINE)
                await self._write_summary_state()
        await self.controller.close()
        if not self.done.done():
            self.done.set_result(None)

    async def _heartbeat_loop(self) -> None:
        heartbeat = self.controller.evt("heartbeat")
        beats = metrics.HEARTBEATS.labels(self.interface.name, str(self.index))
        while True:
            await heartbeat.set_write(heartbeat=True)
            beats.inc()
            now = time.time()
            await asyncio.sleep(next_heartbeat(now) - now)

    async def _republish_late_joiner_events(self) -> None:
        """The broker lost its topics (restart, or topics recreated): write our events again.

        Each is written until the broker confirms it: the first writes to a recreated topic
        can fail while the broker settles.
        """
        for name in LATE_JOINER_EVENTS:
            writer = self.controller.evt(name)
            for attempt in range(REPUBLISH_ATTEMPTS):
                if not writer.has_data:
                    break
                try:
                    await writer.write()
                    await writer.flush()
                    break
                except Exception as err:
                    self.log.debug("republishing %s failed (attempt %d): %s", name, attempt, err)
                    await asyncio.sleep(REPUBLISH_RETRY_SECONDS)
        self.log.warning("broker lost its topics; republished late-joiner events")

    # --- summary state --------------------------------------------------------------------

    def _state_command_handler(self, name: str) -> Any:
        async def handle(data: SalSample) -> str:
            return await self._change_state(name, data)

        return handle

    async def _change_state(self, trigger: str, data: SalSample) -> str:
        """Run one state command; a fault raised on the way wins and fails the command."""
        async with self._state_lock:
            before = self.summary.state
            try:
                after = self.summary.target(trigger)
            except TransitionNotAllowed as err:
                raise ExpectedError(str(err)) from None
            await self._run_hook(f"begin_{trigger}", data)
            if self._pending_fault is None:
                self.summary.fire(trigger)
                try:
                    await self._run_hook(f"end_{trigger}", data)
                except Exception:
                    self.summary.force(before)
                    raise
                if self._pending_fault is None:
                    await self.handle_summary_state()
                    await self._write_summary_state()
            if self._pending_fault is not None:
                code, report = await self._enter_fault()
                raise ExpectedError(f"{trigger} failed: went to FAULT ({code}: {report})")
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
        state = int(self.summary.state)
        metrics.SUMMARY_STATE.labels(self.interface.name, str(self.index)).set(state)
        await self.controller.evt("summaryState").set_write(summaryState=state)

    def assert_enabled(self, what: str = "command") -> None:
        """Fail a service command unless ENABLED (raises ExpectedError naming the state)."""
        if self.summary.state != State.ENABLED:
            raise ExpectedError(f"{what} not allowed in state {self.summary.state.name}")

    async def fault(self, code: int, report: str, traceback_text: str = "") -> None:
        """Go to FAULT, publishing why (errorCode event). Safe from anywhere.

        Called while a state command holds the state lock (from its hooks or
        ``handle_summary_state``), the fault is applied when that command finishes its
        step, and that command is answered FAILED naming the fault. Called from anywhere
        else (a service command, a background task) the CSC is in FAULT when this returns.
        """
        if not traceback_text and _handling_exception():
            traceback_text = traceback.format_exc()
        await self.controller.evt("errorCode").set_write(
            errorCode=code, errorReport=report[:1000], traceback=traceback_text[:4000]
        )
        self.log.error("FAULT %d: %s", code, report)
        metrics.FAULTS.labels(self.interface.name, str(self.index), str(code)).inc()
        if self._pending_fault is None:
            self._pending_fault = (code, report)
        if self._state_lock.locked():
            return
        async with self._state_lock:
            if self._pending_fault is not None:
                await self._enter_fault()

    async def _enter_fault(self) -> tuple[int, str]:
        """Apply the pending fault (state lock held)."""
        assert self._pending_fault is not None
        code, report = self._pending_fault
        self._pending_fault = None
        if self.summary.allowed("fault"):
            self.summary.fire("fault")
            try:
                await self.handle_summary_state()
            except Exception:
                self.log.exception("stopping activity on FAULT failed")
            await self._write_summary_state()
        return code, report

    # --- generic commands -----------------------------------------------------------------

    async def _do_enter_control(self, data: Any) -> str:
        raise ExpectedError("enterControl is not supported: a dmcs CSC starts in STANDBY "
                            "or the state given to `dmcs run --state`")

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
        count = self.controller.dispatcher.abort(keep=frozenset(STATE_COMMANDS))
        return f"aborted {count} command(s)"

    def _authorize(self, data: SalSample) -> bool:
        return self.auth.allows(data.private_identity, self.domain.identity, self.identity)


def _handling_exception() -> bool:
    return sys.exc_info()[0] is not None


def next_heartbeat(now: float) -> float:
    """When the next heartbeat is due: on the wall clock's whole intervals, reached from any
    phase in a few beats, each gap within `_PULL` of the interval (a beat just written, even a
    moment early, counts for the whole interval it is nearest to).

    Every CSC of a host then beats at once, so a process that follows several of them wakes
    about once a second for all their heartbeats instead of once for each.
    """
    aligned = (math.floor(now / HEARTBEAT_INTERVAL + 0.5) + 1) * HEARTBEAT_INTERVAL
    shortest, longest = (1 - _PULL) * HEARTBEAT_INTERVAL, (1 + _PULL) * HEARTBEAT_INTERVAL
    return now + min(max(aligned - now, shortest), longest)
