"""The standard behaviour every CSC owes its operators, checked in one call.

In the spirit of salobj's `BaseCscTestCase`: a service's tests call
``await check_standard_behaviour(domain, MyCsc, tmp_path, index=...)`` and get, against the
real broker: the start-up events, heartbeat cadence, every state x state command (allowed
ones move and complete, refused ones fail naming the state), a bad configuration failing
`start` with the field named while the CSC stays in STANDBY, late joiners finding the
events, and exitControl ending the CSC. Each failure raises AssertionError saying what.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

from dmcs.csc.base_csc import BaseCsc
from dmcs.csc.configurable_csc import ConfigurableCsc
from dmcs.sal.ack import AckCode, AckError
from dmcs.sal.domain import Domain
from dmcs.sal.remote import Remote
from dmcs.state_machines.summary_state import STATE_COMMANDS, TRANSITIONS, State
from dmcs.testing import wait_for_sample

CLAIM_SECONDS = 0.2
BAD_SETTING = "no_such_setting_for_the_check"
STARTUP_EVENTS = ("softwareVersions", "simulationMode", "logLevel", "authList", "summaryState",
                  "heartbeat")


async def check_standard_behaviour(
    domain: Domain, csc_class: type[BaseCsc], tmp_path: Path, *, index: int = 0,
    **csc_options: Any,
) -> None:
    """Run every standard check on a fresh CSC of `csc_class` (raises AssertionError)."""
    options = dict(csc_options)
    if issubclass(csc_class, ConfigurableCsc):
        options["config_root"] = _config_root_with_bad_override(csc_class, tmp_path)
    csc = csc_class(domain, index, **options)
    await csc.start(claim_seconds=CLAIM_SECONDS)
    try:
        events = list(csc_class.interface.events)
        async with Remote(domain, csc_class.interface, index, include=events) as remote:
            await _check_startup_events(remote, csc)
            await _check_heartbeat_cadence(remote)
            if isinstance(csc, ConfigurableCsc):
                await _check_bad_configuration(remote, csc)
            await _check_every_transition(remote, csc)
        async with Remote(domain, csc_class.interface, index) as late:
            await _check_late_joiner(late)
            await _walk(late, csc, State.STANDBY)
            await late.cmd("exitControl").start(timeout=10)
        _require(await _wait_done(csc), "exitControl did not end the CSC")
    finally:
        await csc.close()


def _config_root_with_bad_override(csc_class: type[ConfigurableCsc], tmp_path: Path) -> Path:
    """A copy of the packaged configuration plus `bad.yaml`, which sets an unknown field."""
    root = tmp_path / "config_check"
    target = root / csc_class.interface.name
    source = csc_class.packaged_config_root() / csc_class.interface.name
    if source.is_dir():
        shutil.copytree(source, target)
    target.mkdir(parents=True, exist_ok=True)
    (target / "bad.yaml").write_text(f"{BAD_SETTING}: 1\n")
    return root


async def _check_startup_events(remote: Remote, csc: BaseCsc) -> None:
    for name in STARTUP_EVENTS:
        sample = await remote.evt(name).aget(timeout=10)
        _require(sample is not None, f"no {name} event at start-up")
    versions = remote.evt("softwareVersions").get()
    _require(versions.cscVersion == csc.version,
                  f"softwareVersions.cscVersion {versions.cscVersion!r} != {csc.version!r}")
    mode = remote.evt("simulationMode").get()
    _require(mode.mode == csc.simulation_mode, f"simulationMode {mode.mode}")
    if isinstance(csc, ConfigurableCsc):
        available = await remote.evt("configurationsAvailable").aget(timeout=10)
        _require("bad.yaml" in available.overrides.split(","),
                      f"configurationsAvailable.overrides {available.overrides!r} lacks bad.yaml")
    state = remote.evt("summaryState").get()
    _require(state.summaryState == State.STANDBY,
                  f"started in {State(state.summaryState).name}, expected STANDBY")


async def _check_heartbeat_cadence(remote: Remote) -> None:
    reader = remote.evt("heartbeat")
    first = await reader.next(flush=True, timeout=5)
    second = await reader.next(flush=False, timeout=5)
    gap = second.private_sndStamp - first.private_sndStamp
    _require(0.5 <= gap <= 2.0, f"heartbeats {gap:.2f} s apart, expected about 1 s")


async def _check_bad_configuration(remote: Remote, csc: ConfigurableCsc) -> None:
    try:
        await remote.cmd("start").start(configurationOverride="bad.yaml", timeout=10)
    except AckError as err:
        _require(err.code is AckCode.FAILED, f"bad configuration answered {err.code.name}")
        _require(BAD_SETTING in err.ack.result,
                      f"bad configuration error does not name the field: {err.ack.result!r}")
    else:
        raise AssertionError("start with an unknown setting succeeded; config_model must "
                             "forbid unknown fields (model_config extra='forbid')")
    _require(csc.summary_state == State.STANDBY,
                  f"after a bad configuration the CSC is {csc.summary_state.name}")


async def _check_every_transition(remote: Remote, csc: BaseCsc) -> None:
    table = {(trigger, src): dst for trigger, src, dst in TRANSITIONS}
    for state in (State.STANDBY, State.DISABLED, State.ENABLED, State.FAULT):
        for command in STATE_COMMANDS:
            if command == "exitControl":
                continue
            await _walk(remote, csc, state)
            expected = table.get((command, state))
            try:
                await remote.cmd(command).start(timeout=20)
            except AckError as err:
                _require(expected is None,
                              f"{command} in {state.name} failed: {err.ack.result}")
                _require(f"not allowed in state {state.name}" in err.ack.result,
                              f"{command} in {state.name}: refusal does not name the state: "
                              f"{err.ack.result!r}")
                _require(csc.summary_state == state,
                              f"refused {command} moved the CSC out of {state.name}")
                continue
            if expected is None:
                raise AssertionError(f"{command} was allowed in {state.name}")
            await wait_for_sample(remote.evt("summaryState"), summaryState=int(expected))


async def _walk(remote: Remote, csc: BaseCsc, target: State) -> None:
    """Put the CSC in `target` (FAULT through `csc.fault`) from wherever it is."""
    if csc.summary_state == target:
        return
    if csc.summary_state == State.FAULT:
        await remote.cmd("standby").start(timeout=20)
    if target == State.FAULT:
        await csc.fault(1, "standard behaviour check")
        return
    order = [State.STANDBY, State.DISABLED, State.ENABLED]
    here, there = order.index(csc.summary_state), order.index(target)
    up, down = ["start", "enable"], ["standby", "disable"]
    steps = up[here:there] if there > here else down[there:here][::-1]
    for command in steps:
        await remote.cmd(command).start(timeout=20)


async def _check_late_joiner(late: Remote) -> None:
    for name in ("summaryState", "softwareVersions", "simulationMode", "authList"):
        _require(late.evt(name).get() is not None,
                      f"a Remote started late did not get the {name} event")


async def _wait_done(csc: BaseCsc) -> bool:
    try:
        await asyncio.wait_for(asyncio.shield(csc.done), 10)
    except TimeoutError:
        return False
    return True


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)
