"""Prompt processing end to end on real ranks: preload, alerts on the stream, at most once."""

from __future__ import annotations

import asyncio
import io
import os
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import fastavro
import numpy as np
import pytest
from pp_helpers import (
    DETECTORS,
    SIZE,
    Published,
    alerts_on_stream,
    camera,
    group,
    next_visit,
    read_out_visit,
)

from dmcs.payloads.association.alerts import parsed_schema, read_alerts
from dmcs.sal.codec import HEADER_LEN
from dmcs.sal.domain import Domain
from dmcs.services.ocps.catch_up import CatchUpPipeline
from dmcs.services.prompt_processing.alert_stream import AlertStream
from dmcs.services.prompt_processing.service import PromptProcessingService
from dmcs.services.prompt_processing.settings import PromptProcessingConfig
from dmcs.services.prompt_processing.visit_ledger import CcdState, VisitState
from dmcs.sims.daq_store import DaqStore


def _config(tmp_path: Path, **overrides: Any) -> PromptProcessingConfig:
    return PromptProcessingConfig(
        daq_root=tmp_path / "daq",
        work_dir=tmp_path / "pp",
        ranks=2,
        heartbeat_s=0.5,
        payload={"detector_size": SIZE, "detectors": DETECTORS},
        **overrides,
    )


@pytest.fixture
async def service(
    tmp_path: Path, domain: Domain
) -> AsyncIterator[tuple[PromptProcessingService, Published]]:
    published = Published()
    pp = PromptProcessingService(_config(tmp_path), published, AlertStream(domain))
    await pp.start()
    yield pp, published
    await pp.stop()


async def test_visit_is_preloaded_processed_and_alerted_once(
    service: tuple[PromptProcessingService, Published], tmp_path: Path, domain: Domain
) -> None:
    pp, published = service
    await pp.next_visit(next_visit(1))
    preloaded = await published.wait_for("visitPreloaded", groupId=group(1))
    assert preloaded["detectors"] == ",".join(DETECTORS)

    readouts = await asyncio.to_thread(read_out_visit, camera(tmp_path / "daq"), 1)
    for sample in readouts:
        await pp.end_readout(sample)
    processed = await published.wait_for("visitProcessed", groupId=group(1))
    assert processed["alerts"] > 0 and processed["status"] == "ok"
    assert processed["latency"] > 0 and 0.4 < processed["seeing"] < 2.0
    messages = await alerts_on_stream(domain)
    assert len(messages) == processed["alerts"]
    first = fastavro.schemaless_reader(_body(messages[0]), parsed_schema(), None)
    assert first["diaSource"]["visit"] == 1  # type: ignore[index,call-overload]
    assert pp.ledger.get(group(1)).state is VisitState.ALERTED  # type: ignore[union-attr]
    outputs = pp.work_dir / "outputs"
    await _until(lambda: all(  # written by the ranks after the alerts, while idle
        list((outputs / name / "visit_000001").glob(f"{d}*"))
        for name in ("calexp", "src", "diffim") for d in DETECTORS))
    files = [outputs / "alerts" / f"visit_000001_{d}.avro" for d in DETECTORS]
    sent_ids = sorted(_source_ids(messages))
    await _until(lambda: _ids_on_file(files) == sent_ids)  # files written once sent

    await pp.end_readout(readouts[-1])  # the camera's event seen again (e.g. a late joiner)
    await asyncio.sleep(1)
    assert len(published.named("visitProcessed")) == 1
    assert len(await alerts_on_stream(domain)) == len(messages), "no visit alerts twice"


async def test_alerts_go_out_when_their_file_cannot_be_written(
    tmp_path: Path, domain: Domain, caplog: pytest.LogCaptureFixture
) -> None:
    published = Published()
    pp = PromptProcessingService(_config(tmp_path), published, AlertStream(domain))
    blocker = pp.work_dir / "outputs" / "alerts"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the alert files' directory should be\n")
    await pp.start()
    try:
        readouts = await asyncio.to_thread(read_out_visit, camera(tmp_path / "daq"), 4)
        await pp.end_readout(readouts[-1])
        processed = await published.wait_for("visitProcessed", groupId=group(4))
    finally:
        await pp.stop()
    assert processed["status"] == "ok" and processed["alerts"] > 0
    assert len(await alerts_on_stream(domain)) == processed["alerts"]
    failures = [r for r in caplog.records if "writing alert file" in r.getMessage()]
    assert len(failures) == len(DETECTORS), "each CCD's lost file is logged, naming it"
    assert all("(its alerts were sent)" in r.getMessage() for r in failures)


async def test_restarted_service_never_reprocesses_an_alerted_visit(
    tmp_path: Path, domain: Domain
) -> None:
    published = Published()
    cam = camera(tmp_path / "daq")
    readouts = await asyncio.to_thread(read_out_visit, cam, 2)
    pp = PromptProcessingService(_config(tmp_path), published, AlertStream(domain))
    await pp.start()
    try:
        await pp.end_readout(readouts[-1])
        await published.wait_for("visitProcessed", groupId=group(2))
    finally:
        await pp.stop()
    sent = len(await alerts_on_stream(domain))
    again = PromptProcessingService(_config(tmp_path), published, AlertStream(domain))
    await again.start()
    try:
        await again.end_readout(readouts[-1])
        await asyncio.sleep(1)
    finally:
        await again.stop()
    assert len(published.named("visitProcessed")) == 1
    assert len(await alerts_on_stream(domain)) == sent


async def test_visit_past_its_deadline_goes_late_without_alerts(
    tmp_path: Path, domain: Domain
) -> None:
    published = Published()
    pp = PromptProcessingService(_config(tmp_path, deadline_s=0.05), published, AlertStream(domain))
    await pp.start()
    try:
        readouts = await asyncio.to_thread(read_out_visit, camera(tmp_path / "daq"), 3)
        await pp.end_readout(readouts[-1])
        late = await published.wait_for("visitLate", groupId=group(3))
        assert "deadline of 0.05 s passed" in late["reason"]
        missed = {c["detector"]: c for c in published.named("ccdLate")}
        assert sorted(missed) == sorted(DETECTORS), "each CCD reported on its own"
        assert {c["kind"] for c in missed.values()} == {"late"}
        assert {c.state for c in pp.ledger.ccds(group(3))} == {CcdState.LATE}
        record = pp.ledger.get(group(3))
        assert record is not None and record.state is VisitState.LATE
        assert len(record.images) == 2, "the images are kept for the daytime catch-up"
    finally:
        await pp.stop()
    assert published.named("visitProcessed") == []
    assert await alerts_on_stream(domain) == []


async def test_bad_next_visits_are_refused_and_the_service_goes_on(
    service: tuple[PromptProcessingService, Published],
) -> None:
    pp, published = service
    await pp.next_visit(next_visit(4, nimages=0))
    await pp.next_visit(next_visit(5, instrument="LATISS"))
    await pp.next_visit(next_visit(6, groupId="tonight-42"))
    refused = published.named("visitRefused")
    assert [r["groupId"] for r in refused] == [group(4), group(5), "tonight-42"]
    assert "nimages must be >= 1, got 0" in refused[0]["reason"]
    assert "instrument 'LATISS'" in refused[1]["reason"]
    assert "is not '<dayobs>_<kind>_<number>'" in refused[2]["reason"]
    await pp.next_visit(next_visit(7))
    await published.wait_for("visitPreloaded", groupId=group(7))


async def test_cancelled_visit_goes_late(
    service: tuple[PromptProcessingService, Published],
) -> None:
    pp, published = service
    await pp.next_visit(next_visit(8))
    result = await pp.cancel_visit(group(8), "operator says so")
    assert result == f"{group(8)} cancelled before readout"
    late = await published.wait_for("visitLate", groupId=group(8))
    assert late["reason"] == "operator says so"
    with pytest.raises(ValueError, match="unknown visit 'nope'"):
        await pp.cancel_visit("nope", "")
    with pytest.raises(ValueError, match="is late; only waiting or running visits"):
        await pp.cancel_visit(group(8), "")


async def test_a_failed_ccd_is_reported_alone_the_others_alert_and_catch_up_takes_it(
    service: tuple[PromptProcessingService, Published], tmp_path: Path, domain: Domain
) -> None:
    pp, published = service
    readouts = await asyncio.to_thread(read_out_visit, camera(tmp_path / "daq"), 9)
    broken = DaqStore(tmp_path / "daq").ccd_path(readouts[0].imageName, DETECTORS[1])
    hidden = broken.rename(broken.with_suffix(".away"))  # an unreadable raw: a system error
    await pp.end_readout(readouts[-1])
    processed = await published.wait_for("visitProcessed", groupId=group(9))
    assert processed["status"] == "partial" and processed["detectors"] == DETECTORS[0]
    assert (processed["ccdsAlerted"], processed["ccdsFailed"], processed["ccdsLate"]) == (1, 1, 0)
    [failed] = published.named("ccdLate")
    assert (failed["detector"], failed["kind"]) == (DETECTORS[1], "failed")
    assert "cannot read" in failed["reason"]
    assert published.named("visitLate") == [], "the visit is alerted with the CCD that made it"
    night_alerts = len(await alerts_on_stream(domain))
    assert night_alerts == processed["alerts"] > 0

    hidden.rename(broken)
    catch_up = CatchUpPipeline(_catch_up_config(pp, domain), tmp_path / "catch_up")
    items = catch_up.plan("")
    assert items == [f"visit=9 detector={DETECTORS[1]} images={readouts[0].imageName},"
                     f"{readouts[1].imageName}"], "only the CCD left behind"
    results = {item: await asyncio.to_thread(catch_up.run_item, item) for item in items}
    summary = await asyncio.to_thread(catch_up.finalize, results)
    assert summary["caught_up"] == {group(9): summary["alerts"]} and summary["alerts"] > 0
    states = {c.detector: c.state for c in pp.ledger.ccds(group(9))}
    assert states == {DETECTORS[0]: CcdState.ALERTED, DETECTORS[1]: CcdState.CAUGHT_UP}
    assert len(await alerts_on_stream(domain)) == night_alerts + summary["alerts"]
    again = await asyncio.to_thread(catch_up.finalize, results)
    assert again["alerts"] == 0 and again["skipped_visits"] == [9], "never twice"


async def test_a_ccd_without_stars_is_a_result_not_a_failure(
    service: tuple[PromptProcessingService, Published], tmp_path: Path, domain: Domain
) -> None:
    pp, published = service
    readouts = await asyncio.to_thread(read_out_visit, camera(tmp_path / "daq"), 10)
    daq = DaqStore(tmp_path / "daq")
    for sample in readouts:  # a CCD that saw no sky: bias level alone, no star to measure
        raw = daq.read_raw(sample.imageName, DETECTORS[1])
        raw.amps = [np.full_like(amp, np.median(amp)) for amp in raw.amps]
        daq.put_ccd(sample.imageName, DETECTORS[1], raw)
    await pp.end_readout(readouts[-1])
    processed = await published.wait_for("visitProcessed", groupId=group(10))
    assert (processed["ccdsAlerted"], processed["ccdsUnprocessable"]) == (1, 1)
    assert processed["ccdsFailed"] == processed["ccdsLate"] == 0
    [empty] = published.named("ccdUnprocessable")
    assert empty["detector"] == DETECTORS[1] and "stars" in empty["reason"]
    assert published.named("ccdLate") == []
    assert CatchUpPipeline(_catch_up_config(pp, domain), tmp_path / "c").plan("") == [], (
        "nothing for the catch-up: the science has answered")


async def test_detectors_are_pinned_to_ranks_and_move_only_while_a_rank_is_lost(
    service: tuple[PromptProcessingService, Published],
) -> None:
    pp, published = service
    assert pp.pool is not None
    assert pp.pins() == {DETECTORS[0]: 0, DETECTORS[1]: 1}
    os.kill(pp.pool.rank_pids()[1], signal.SIGKILL)
    await _until(lambda: pp.pool is not None and pp.pool.live_ranks() == [0])
    assert pp.pins() == {DETECTORS[0]: 0, DETECTORS[1]: 0}, "the lost rank's detectors move"
    await _until(lambda: pp.pool is not None and pp.pool.live_ranks() == [0, 1])
    assert pp.pins() == {DETECTORS[0]: 0, DETECTORS[1]: 1}, "and come back with a new worker"
    await pp.next_visit(next_visit(11))
    await published.wait_for("visitPreloaded", groupId=group(11))


def _source_ids(messages: list[bytes]) -> list[int]:
    packets: list[Any] = [fastavro.schemaless_reader(_body(m), parsed_schema(), None)
                          for m in messages]
    return [int(p["diaSourceId"]) for p in packets]


def _ids_on_file(files: list[Path]) -> list[int] | None:
    """The diaSourceIds in these alert files, None while one is missing or being written."""
    try:
        return sorted(p["diaSourceId"] for f in files for p in read_alerts(f))
    except (OSError, ValueError, EOFError):
        return None


async def _until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(60):
        while not condition():
            await asyncio.sleep(0.05)


def _catch_up_config(pp: PromptProcessingService, domain: Domain) -> dict[str, Any]:
    stream = {"bootstrap_servers": domain.bootstrap_servers or "", "subname": domain.subname,
              "schema_registry_url": domain.registry_url, "broker_kind": domain.profile.kind}
    return {**pp.pool_config(), "prompt_processing_dir": str(pp.work_dir),
            "alert_stream": stream}


def _body(message: bytes) -> io.BytesIO:
    return io.BytesIO(message[HEADER_LEN:])
