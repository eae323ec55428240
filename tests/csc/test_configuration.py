"""Configurations: listed, applied, and refused with the bad field named."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dmcs.csc.test_csc import TestCsc
from dmcs.sal.ack import AckCode, AckError
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import TEST
from dmcs.sal.remote import Remote
from dmcs.state_machines.summary_state import State


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "Test"
    folder.mkdir()
    (folder / "_init.yaml").write_text("string0: site default\n")
    (folder / "slow.yaml").write_text("wait_progress_interval: 2.0\n")
    (folder / "negative.yaml").write_text("wait_progress_interval: -1\n")
    (folder / "typo.yaml").write_text("wait_progres_interval: 1\n")
    (folder / "broken.yaml").write_text("string0: [unclosed\n")
    return tmp_path


@pytest.fixture
async def configured(domain: Domain, config_dir: Path) -> AsyncIterator[tuple[TestCsc, Remote]]:
    csc = TestCsc(domain, 1, config_root=config_dir)
    await csc.start()
    async with Remote(domain, TEST, 1) as remote:
        yield csc, remote
    await csc.close()


async def test_overrides_are_announced(configured: tuple[TestCsc, Remote]) -> None:
    _, remote = configured
    available = await remote.evt("configurationsAvailable").aget(timeout=5)
    assert available.overrides.split(",") == ["broken.yaml", "negative.yaml", "slow.yaml",
                                              "typo.yaml"]


async def test_start_applies_defaults_then_override(configured: tuple[TestCsc, Remote]) -> None:
    csc, remote = configured
    await remote.cmd("start").start(configurationOverride="slow.yaml")
    applied = await remote.evt("configurationApplied").next(flush=False, timeout=5)
    assert applied.configurations == "_init.yaml,slow.yaml"
    assert csc.config is not None
    assert csc.config.model_dump() == {"string0": "site default", "wait_progress_interval": 2.0}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("negative.yaml", "wait_progress_interval: Input should be greater than 0"),
        ("typo.yaml", "wait_progres_interval: Extra inputs are not permitted"),
        ("broken.yaml", "Test/broken.yaml: not valid YAML at line 2, column 1"),
        ("missing.yaml", "unknown configuration 'missing.yaml'; available: broken.yaml"),
    ],
)
async def test_bad_configuration_fails_start_and_stays_standby(
    configured: tuple[TestCsc, Remote], override: str, message: str
) -> None:
    csc, remote = configured
    with pytest.raises(AckError) as info:
        await remote.cmd("start").start(configurationOverride=override)
    assert info.value.code is AckCode.FAILED
    assert message in info.value.ack.result
    assert csc.summary_state == State.STANDBY
    await remote.cmd("start").start()
    assert csc.summary_state == State.DISABLED
