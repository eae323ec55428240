"""The telemetry gateway: service states and prompt-processing figures, republished steadily."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from dmcs.sal.controller import Controller
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import PROMPT_PROCESSING, TELEMETRY_GATEWAY
from dmcs.sal.remote import Remote
from dmcs.services.ocps.csc import OcpsCsc
from dmcs.services.telemetry_gateway.csc import TelemetryGatewayCsc
from dmcs.state_machines.summary_state import State
from dmcs.testing import wait_for_sample
from dmcs.testing.csc_checks import check_standard_behaviour


def _site(tmp_path: Path) -> Path:
    root = tmp_path / "config"
    for name, values in {
        "TelemetryGateway": {"interval_s": 0.2},
        "OCPS": {"job_store": str(tmp_path / "jobs.sqlite")},
    }.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / "_init.yaml").write_text(yaml.safe_dump(values))
    return root


@pytest.fixture
async def gateway(domain: Domain, tmp_path: Path) -> AsyncIterator[Remote]:
    async with (
        TelemetryGatewayCsc(domain, initial_state=State.ENABLED, config_root=_site(tmp_path)),
        Remote(domain, TELEMETRY_GATEWAY) as remote,
    ):
        yield remote


async def test_standard_behaviour(domain: Domain, tmp_path: Path) -> None:
    await check_standard_behaviour(domain, TelemetryGatewayCsc, tmp_path)


async def test_service_states_follow_the_services(
    gateway: Remote, domain: Domain, tmp_path: Path
) -> None:
    await wait_for_sample(gateway.tel("serviceStates"), ocps=0, promptProcessing=0)
    async with OcpsCsc(domain, 1, initial_state=State.ENABLED, config_root=_site(tmp_path)) as ocps:
        await wait_for_sample(gateway.tel("serviceStates"), ocps=int(State.ENABLED))
        await ocps.controller.evt("summaryState").set_write(summaryState=int(State.FAULT))
        await wait_for_sample(gateway.tel("serviceStates"), ocps=int(State.FAULT))


async def test_visit_figures_and_totals_are_republished(gateway: Remote, domain: Domain) -> None:
    source = Controller(domain, PROMPT_PROCESSING)
    await source.start()
    try:
        await source.evt("visitProcessed").set_write(
            groupId="20261130_science_0001",
            visit="1",
            alerts=12,
            latency=4.5,
            seeing=0.9,
            zeroPoint=28.1,
            sources=300,
            diaSources=15,
            status="ok",
        )
        await source.evt("visitLate").set_write(groupId="20261130_science_0002", reason="x")
        await source.tel("processingStatus").set_write(workersAlive=2, queue=3)
        quality = await wait_for_sample(
            gateway.tel("visitQuality"), groupId="20261130_science_0001"
        )
        assert (quality.alerts, quality.latency, quality.seeing) == (12, 4.5, pytest.approx(0.9))
        status = await wait_for_sample(
            gateway.tel("promptProcessingStatus"), visitsLate=1, workersAlive=2
        )
        assert (status.visitsProcessed, status.alertsSent, status.queue) == (1, 12, 3)
        first = status.private_sndStamp
        again = await gateway.tel("promptProcessingStatus").next(flush=True, timeout=5)
        assert again.private_sndStamp > first, "republished while nothing changed"
    finally:
        await source.close()
