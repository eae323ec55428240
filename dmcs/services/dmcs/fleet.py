"""The services the DMCS manages: their states, the state it wants them in, and recovery.

The DMCS walks its services up in order and down in reverse. While it wants them ENABLED, a
watch compares each service with that wish twice a second: a service in FAULT, or one that
came back in STANDBY after its process was restarted, is walked back to ENABLED (through
STANDBY), at most ``max_recoveries`` times per service; after that the DMCS gives up on it
and says so (``on_exhausted``). A service that stopped sending heartbeats is reported absent
and waited for: restarting processes is the deployment's job, not the DMCS's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from dmcs.csc.registry import get_interface
from dmcs.ocs import BUSY_ATTEMPTS, OcsError, walk_to_state
from dmcs.sal.domain import Domain
from dmcs.sal.liveness import COMMAND_LIVENESS_SECONDS
from dmcs.sal.remote import Remote
from dmcs.sal.tai import current_tai
from dmcs.state_machines.summary_state import State
from dmcs.validation import StrictModel

log = logging.getLogger(__name__)

ABSENT = -1
WATCH_INTERVAL_S = 0.5
ALIVE_S = 3.0


@dataclass(frozen=True)
class ServiceRef:
    """`Name` or `Name:index`."""

    name: str
    index: int = 0

    @classmethod
    def parse(cls, text: str) -> ServiceRef:
        name, _, index = text.partition(":")
        get_interface(name)
        return cls(name, int(index) if index else 0)

    @property
    def label(self) -> str:
        return f"{self.name}:{self.index}" if self.index else self.name


class ServiceWalkError(RuntimeError):
    """A service did not reach the state it was walked to."""


FaultReport = Callable[[str, int, str, int, str], Awaitable[None]]


class FleetConfig(StrictModel):
    """The services' part of the DMCS configuration (declared here, where it is used)."""

    services: list[str] = Field(
        default=["Archiver", "PromptProcessing", "OCPS:1", "TelemetryGateway"],
        description="Services in bring-up order (`Name` or `Name:index`).",
    )
    max_recoveries: int = Field(3, ge=0, description="Recoveries per service before FAULT.")
    command_timeout: float = Field(120.0, gt=0)


class ServiceFleet:
    """Remotes of the managed services, in bring-up order."""

    def __init__(
        self,
        domain: Domain,
        config: FleetConfig,
        *,
        on_states: Callable[[list[str], list[int]], Awaitable[None]],
        on_fault: FaultReport,
        on_exhausted: Callable[[str, str], Awaitable[None]],
    ) -> None:
        self.domain = domain
        self.services = [ServiceRef.parse(s) for s in config.services]
        self.max_recoveries = config.max_recoveries
        self.command_timeout = config.command_timeout
        self.on_states = on_states
        self.on_fault = on_fault
        self.on_exhausted = on_exhausted
        self.remotes: dict[str, Remote] = {}
        self.recoveries: dict[str, int] = {s.label: 0 for s in self.services}
        self.wanted: State | None = None
        self._last_states: list[int] = []
        self._absent_reported: set[str] = set()
        self._watch_task: asyncio.Task[None] | None = None
        self._walk_lock = asyncio.Lock()

    async def open(self) -> None:
        for ref in self.services:
            remote = Remote(
                self.domain,
                get_interface(ref.name),
                ref.index,
                include=["summaryState", "errorCode"],
            )
            await remote.start()
            self.remotes[ref.label] = remote
        self._watch_task = asyncio.create_task(self._watch())

    async def close(self) -> None:
        if self._watch_task is not None:
            self._watch_task.cancel()
            await asyncio.gather(self._watch_task, return_exceptions=True)
        for remote in self.remotes.values():
            await remote.close()

    def state_of(self, label: str) -> int:
        """The service's summary state, or ABSENT if it is not (or no longer) running:
        never heard from, silent for ALIVE_S, or gone OFFLINE (its process is exiting)."""
        remote = self.remotes[label]
        beat: Any = remote.evt("heartbeat").get()
        sample: Any = remote.evt("summaryState").get()
        if beat is None or sample is None or current_tai() - beat.private_sndStamp > ALIVE_S:
            return ABSENT
        if sample.summaryState == State.OFFLINE:
            return ABSENT
        return int(sample.summaryState)

    def why_unreachable(self, label: str) -> str | None:
        """Why a walk of the service cannot start (None: it can).

        More patient than :meth:`state_of`: a loaded host can hold every process for a few
        seconds, so a walk is refused only for a service never heard from, gone OFFLINE, or
        silent for as long as a command would wait for it (COMMAND_LIVENESS_SECONDS)."""
        remote = self.remotes[label]
        beat: Any = remote.evt("heartbeat").get()
        sample: Any = remote.evt("summaryState").get()
        if beat is None or sample is None:
            return "never heard from"
        silent = current_tai() - beat.private_sndStamp
        if silent > COMMAND_LIVENESS_SECONDS:
            return f"no heartbeat for {silent:.0f} s"
        if sample.summaryState == State.OFFLINE:
            return "it went OFFLINE"
        return None

    def states(self) -> list[int]:
        return [self.state_of(s.label) for s in self.services]

    async def bring_to(self, target: State) -> None:
        """Walk every service to `target`: up in order, down in reverse order."""
        self.wanted = None
        order = self.services if target == State.ENABLED else list(reversed(self.services))
        async with self._walk_lock:
            for ref in order:
                await self._walk(ref.label, target)
        if target == State.ENABLED:
            self.recoveries = {s.label: 0 for s in self.services}
            self.wanted = target

    def stop_watching(self) -> None:
        """Stop keeping the services ENABLED (the DMCS is leaving ENABLED)."""
        self.wanted = None

    async def _walk(self, label: str, target: State) -> None:
        remote = self.remotes[label]
        why = self.why_unreachable(label)
        if why is not None:
            raise ServiceWalkError(f"{label} is not running ({why})")
        try:
            await walk_to_state(remote, target, timeout=self.command_timeout,
                                attempts=BUSY_ATTEMPTS)
        except OcsError as err:
            raise ServiceWalkError(f"{label} did not reach {target.name}: {err}") from None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            try:
                await self._check()
            except Exception:
                log.exception("service watch failed; watching on")

    async def _check(self) -> None:
        states = self.states()
        if states != self._last_states:
            self._last_states = states
            await self.on_states([s.label for s in self.services], states)
        if self.wanted is None or self._walk_lock.locked():
            return
        for ref, state in zip(self.services, states, strict=True):
            if state == int(self.wanted):
                self._absent_reported.discard(ref.label)
            elif state == ABSENT:
                if ref.label not in self._absent_reported:
                    self._absent_reported.add(ref.label)
                    await self.on_fault(
                        ref.label,
                        0,
                        "no heartbeat",
                        self.recoveries[ref.label],
                        "waiting for it to be restarted",
                    )
            else:
                await self._recover(ref.label, State(state))

    async def _recover(self, label: str, state: State) -> None:
        """Walk a deviating service back to the wanted state, or give up after N tries."""
        assert self.wanted is not None
        self.recoveries[label] += 1
        count = self.recoveries[label]
        error: Any = self.remotes[label].evt("errorCode").get()
        code, report = (error.errorCode, error.errorReport) if error is not None else (0, "")
        if count > self.max_recoveries:
            self.wanted = None
            await self.on_fault(label, code, report, count - 1, "gave up")
            await self.on_exhausted(
                label, f"{label} in {state.name} after {self.max_recoveries} recoveries: {report}"
            )
            return
        await self.on_fault(
            label,
            code,
            report if state == State.FAULT else f"found in {state.name}",
            count,
            f"recovery {count}/{self.max_recoveries}: walking to {self.wanted.name}",
        )
        async with self._walk_lock:
            try:
                await self._walk(label, self.wanted)
            except ServiceWalkError as err:
                log.warning("recovery of %s failed: %s", label, err)
