"""The PromptProcessing CSC with the real ScriptQueue and camera CSCs: a visit, live."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pp_helpers import DETECTORS, SIZE, alerts_on_stream, group

from dmcs.sal.ack import AckCode, AckError
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import MT_CAMERA, PROMPT_PROCESSING, SCRIPT_QUEUE
from dmcs.sal.remote import Remote
from dmcs.sal.tai import current_tai
from dmcs.services.prompt_processing.csc import ENABLE_TIMEOUT_S, PromptProcessingCsc
from dmcs.sims.camera_csc import CameraCsc
from dmcs.sims.script_queue_csc import ScriptQueueCsc
from dmcs.sims.site_config import write_site_configs
from dmcs.sims.visit_plan import take_images_args
from dmcs.state_machines.summary_state import State
from dmcs.testing import wait_for_sample
from dmcs.testing.csc_checks import check_standard_behaviour


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "config"
    data = tmp_path / "data"
    write_site_configs(
        root,
        data,
        detectors=DETECTORS,
        detector_size=SIZE,
        exposure_time_scale=0.01,
        lead_time=0.0,
    )
    (root / "PromptProcessing").mkdir()
    settings = {
        "daq_root": str(data / "daq"),
        "work_dir": str(data / "pp"),
        "ranks": 2,
        "status_interval_s": 0.2,
        "payload": {"detector_size": SIZE, "detectors": DETECTORS},
    }
    (root / "PromptProcessing" / "_init.yaml").write_text(yaml.safe_dump(settings))
    return root


@pytest.fixture
async def night(domain: Domain, site: Path) -> AsyncIterator[tuple[Remote, Remote, Remote]]:
    """Queue, camera and prompt processing ENABLED; remotes of the three."""
    async with (
        ScriptQueueCsc(domain, 1, initial_state=State.ENABLED, config_root=site),
        CameraCsc(domain, initial_state=State.ENABLED, config_root=site),
        PromptProcessingCsc(domain, initial_state=State.ENABLED, config_root=site),
        Remote(domain, SCRIPT_QUEUE, 1, include=["nextVisit"]) as queue,
        Remote(domain, MT_CAMERA, include=[]) as camera,
        Remote(domain, PROMPT_PROCESSING) as pp,
    ):
        yield queue, camera, pp


async def test_announced_visit_is_alerted_with_its_latency(
    night: tuple[Remote, Remote, Remote], domain: Domain
) -> None:
    queue, camera, pp = night
    await wait_for_sample(pp.tel("processingStatus"), workersAlive=2)
    await queue.cmd("announceVisit").start(
        groupId=group(1), nimages=2, duration=30.0, startTime=current_tai() + 1, timeout=10
    )
    announced = await wait_for_sample(queue.evt("nextVisit"), groupId=group(1))
    await wait_for_sample(pp.evt("visitPreloaded"), groupId=group(1), timeout=60)
    await camera.cmd("takeImages").start(**take_images_args(announced), timeout=120)
    processed = await wait_for_sample(pp.evt("visitProcessed"), groupId=group(1), timeout=120)
    assert processed.alerts > 0 and processed.latency > 0 and processed.status == "ok"
    assert len(await alerts_on_stream(domain)) == processed.alerts
    status = await wait_for_sample(pp.tel("processingStatus"), visitsProcessed=1)
    assert status.alertsSent == processed.alerts

    with pytest.raises(AckError, match=f"visit {group(1)} is alerted"):
        await pp.cmd("cancelVisit").start(groupId=group(1), timeout=10)


async def test_standard_behaviour(domain: Domain, tmp_path: Path, sal_env: dict[str, str]) -> None:
    await check_standard_behaviour(domain, PromptProcessingCsc, tmp_path)


async def test_enable_says_it_is_starting_the_rank_pool(domain: Domain, site: Path) -> None:
    """A caller waits for the pool's start (INPROGRESS with its timeout), not its default."""
    acks: list[Any] = []
    async with (
        PromptProcessingCsc(domain, initial_state=State.DISABLED, config_root=site),
        Remote(domain, PROMPT_PROCESSING) as pp,
    ):
        await pp.cmd("enable").start(timeout=5, on_ack=acks.append)
        status = await wait_for_sample(pp.tel("processingStatus"), workersAlive=2)
        assert status.workersAlive == 2
    codes = [AckCode(a.ack) for a in acks]
    assert codes[-1] is AckCode.COMPLETE and AckCode.INPROGRESS in codes
    progress = acks[codes.index(AckCode.INPROGRESS)]
    assert progress.timeout == ENABLE_TIMEOUT_S and "rank pool" in progress.result
