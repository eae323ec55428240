"""`dmcs demo`: a live tour of the control layer — a Test CSC walked, commanded and faulted."""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections import Counter
from dataclasses import replace
from typing import Annotated, Any

import typer
from rich.console import Console

from dmcs.cli.errors import CliError, ExitCode, one_line_errors
from dmcs.cli.options import BrokerOption, RegistryOption, SubnameOption, describe, sal_config
from dmcs.cli.render import ack_line, fields_text, step_line
from dmcs.cli.session import connect, run_async
from dmcs.csc.test_csc import TestCsc
from dmcs.ocs import walk_to_state
from dmcs.sal.ack import AckCmdModel
from dmcs.sal.broker import embedded_port, ensure_embedded_broker, is_listening
from dmcs.sal.config import SUBNAME_ENV, SalConfig
from dmcs.sal.controller import DuplicateInstanceError
from dmcs.sal.interfaces import TEST
from dmcs.sal.registry.process import ensure_embedded_registry
from dmcs.sal.remote import Remote
from dmcs.settings import settings
from dmcs.state_machines.summary_state import State
from dmcs.testing import unique_subname

console = Console(highlight=False, soft_wrap=True)
INDEX = 1
BURST = 20
_STATE_WAIT_S = 5.0


def demo(
    duration: Annotated[
        float, typer.Option("--duration", min=0.0, max=60.0,
                            help="Seconds the long-running `wait` command takes.")
    ] = 2.0,
    broker: BrokerOption = None,
    registry: RegistryOption = None,
    subname: SubnameOption = None,
) -> None:
    """Run a Test CSC in this process and drive it through its life, printing each step.

    Needs no configuration: uses the embedded broker (started if needed) and, unless one is
    given, a topic subname of its own so it never meets other users' components.
    """
    with one_line_errors():
        config = sal_config(broker, subname or settings().environ.get(SUBNAME_ENV)
                            or unique_subname("demo"))
        run_async(Tour(config, duration).run(), log_level=logging.CRITICAL)


class Tour:
    """The demo's steps, and the counts for its closing summary."""

    def __init__(self, config: SalConfig, duration: float) -> None:
        self.config = config
        self.duration = duration
        self.round_trips: list[float] = []
        self.events: Counter[str] = Counter()
        self.telemetry: Counter[str] = Counter()
        self.started = time.monotonic()
        self.quiet = False

    async def run(self) -> None:
        if self.config.bootstrap_servers is None:
            self.config = await self._embedded_broker()
        async with connect(self.config) as domain:
            self.step(f"connected to {describe(self.config, domain.bootstrap_servers)}")
            csc = TestCsc(domain, INDEX)
            try:
                await csc.start()
            except DuplicateInstanceError as err:
                await csc.close()
                raise CliError(f"{err}, under subname {self.config.subname}; give the demo "
                               "another one with --subname", ExitCode.DUPLICATE) from None
            self.step(f"{csc.identity} CSC started in this process, in {csc.summary_state.name}")
            remote = Remote(domain, TEST, INDEX)
            self._show_samples(remote)
            async with remote:
                await self._drive(remote)
                try:
                    await asyncio.wait_for(asyncio.shield(csc.done), _STATE_WAIT_S)
                except TimeoutError:
                    await csc.close()
                    raise CliError("the CSC did not stop after exitControl",
                                   ExitCode.ERROR) from None
                self.step(f"{csc.identity} is OFFLINE and closed")
        self._summary()

    async def _embedded_broker(self) -> SalConfig:
        running = is_listening("127.0.0.1", embedded_port())
        proc = await asyncio.to_thread(ensure_embedded_broker)
        self.step(f"embedded broker {'reused' if running else 'started'} on "
                  f"{proc.bootstrap_servers}")
        registry = await asyncio.to_thread(ensure_embedded_registry, proc.bootstrap_servers)
        self.step(f"schema registry at {registry.url}")
        return replace(self.config, bootstrap_servers=proc.bootstrap_servers,
                       schema_registry_url=registry.url, broker_kind="tansu")

    async def _drive(self, remote: Remote) -> None:
        self.step("walk STANDBY -> ENABLED")
        await self._walk(remote, State.STANDBY, State.ENABLED)
        self.step("setScalars: one value of every scalar type")
        await self._command(remote, "setScalars", boolean0=True, int0=42, longLong0=2**40,
                            float0=1.5, double0=3.14159265, string0="hello from dmcs demo")
        self.step("setArrays: fixed-length arrays")
        length = len(TEST.telemetry["arrays"]().model_dump()["int0"])
        await self._command(remote, "setArrays", int0=list(range(length)),
                            double0=[i / 4 for i in range(length)])
        self.step(f"{BURST} setScalars round trips, back to back")
        self.quiet = True
        for i in range(BURST):
            await self._command(remote, "setScalars", int0=i)
        self.quiet = False
        self.step(f"  ... {BURST} COMPLETE, median "
                  f"{statistics.median(self.round_trips[-BURST:]) * 1e3:.1f} ms")
        self.step(f"wait {self.duration:g} s: a long command reporting progress")
        began = time.perf_counter()
        await self._command(remote, "wait", timeout=self.duration + 5, duration=self.duration,
                            on_ack=lambda ack: self.ack(ack, time.perf_counter() - began))
        self.step("fault: the CSC goes to FAULT and says why")
        await self._command(remote, "fault")
        await self._until_state(remote, State.FAULT)
        self.step("recover via standby, then exitControl")
        await self._walk(remote, State.FAULT, State.OFFLINE)

    async def _walk(self, remote: Remote, start: State, target: State) -> None:
        trips = await walk_to_state(
            remote, target, start=start, timeout=10.0,
            on_step=lambda *step: console.print("    " + step_line(*step)))
        self.round_trips += trips

    async def _command(self, remote: Remote, name: str, *, timeout: float = 10.0,
                       on_ack: Any = None, **fields: Any) -> None:
        began = time.perf_counter()
        ack = await remote.cmd(name).start(timeout=timeout, on_ack=on_ack, **fields)
        self.round_trips.append(time.perf_counter() - began)
        if not self.quiet and on_ack is None:
            self.ack(ack, self.round_trips[-1])

    async def _until_state(self, remote: Remote, state: State) -> None:
        deadline = time.monotonic() + _STATE_WAIT_S
        while (sample := remote.evt("summaryState").get()).summaryState != state:
            if time.monotonic() > deadline:
                raise CliError(f"{remote.name} stayed in {State(sample.summaryState).name}, "
                               f"expected {state.name}", ExitCode.ERROR)
            await asyncio.sleep(0.01)

    def _show_samples(self, remote: Remote) -> None:
        """Print events as they arrive, and the first few telemetry samples of each topic."""
        for name in TEST.events:
            remote.evt(name).callback = lambda s, name=name: self._on_sample(name, s, True)
        for name in TEST.telemetry:
            remote.tel(name).callback = lambda s, name=name: self._on_sample(name, s, False)

    def _on_sample(self, name: str, sample: Any, is_event: bool) -> None:
        counts = self.events if is_event else self.telemetry
        counts[name] += 1
        if self.quiet or name == "heartbeat" or (not is_event and counts[name] > 2):
            return
        kind = "event" if is_event else "telemetry"
        console.print(f"      [dim]{kind:>9} {name}[/dim]  {fields_text(sample)}")

    def step(self, text: str) -> None:
        console.print(f"[bold cyan]{time.monotonic() - self.started:5.1f} s[/]  {text}")

    def ack(self, ack: AckCmdModel, elapsed_s: float) -> None:
        console.print("    " + ack_line(ack, elapsed_s), markup=False)

    def _summary(self) -> None:
        trips = self.round_trips
        beats = self.events.pop("heartbeat", 0)
        console.print()
        console.print("[bold]summary[/]")
        console.print(f"  commands sent          {len(trips)} (all COMPLETE)")
        console.print(f"  command round trip     median {statistics.median(trips) * 1e3:.1f} ms")
        console.print(f"  events seen            {sum(self.events.values())} "
                      f"(+{beats} heartbeats) on {len(self.events)} topics")
        console.print(f"  telemetry samples      {sum(self.telemetry.values())}")
        console.print(f"  elapsed                {time.monotonic() - self.started:.1f} s")
