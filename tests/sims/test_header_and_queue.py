"""Header service (one announced header per image) and ScriptQueue (nextVisit lead time)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from astropy.io import fits

from dmcs.sal.ack import AckCode, AckError
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import MT_CAMERA, MT_HEADER_SERVICE, SCRIPT_QUEUE
from dmcs.sal.remote import Remote
from dmcs.sal.tai import current_tai
from dmcs.sims.camera_csc import CameraCsc
from dmcs.sims.header_csc import HeaderServiceCsc
from dmcs.sims.script_queue_csc import ScriptQueueCsc
from dmcs.sims.visit_plan import parse_group_id, take_images_args
from dmcs.state_machines.summary_state import State

LEAD_TIME = 2.0  # as the site fixture configures


async def test_each_image_gets_an_announced_header_with_the_visit_pointing(
    domain: Domain, site: Path,
) -> None:
    async with CameraCsc(domain, initial_state=State.ENABLED, config_root=site), \
            HeaderServiceCsc(domain, initial_state=State.ENABLED, config_root=site), \
            ScriptQueueCsc(domain, 1, initial_state=State.ENABLED, config_root=site), \
            Remote(domain, MT_CAMERA, include=[]) as camera, \
            Remote(domain, SCRIPT_QUEUE, 1, include=["nextVisit"]) as queue, \
            Remote(domain, MT_HEADER_SERVICE, include=["largeFileObjectAvailable"]) as headers:
        await queue.cmd("planNight").start(numVisits=1, calibrations=False, leadTime=3.0)
        visit = await queue.evt("nextVisit").next(flush=False, timeout=10)
        ack = await camera.cmd("takeImages").start(**take_images_args(visit), timeout=60)
        names = ack.result.removeprefix("took ").split(", ")
        assert len(names) == visit.nimages == 2
        for name in names:
            event = await headers.evt("largeFileObjectAvailable").next(flush=False, timeout=10)
            assert (event.id, event.generator, event.mimeType) == (
                name, "MTHeaderService", "application/fits")
            path = Path(event.url.removeprefix("file://"))
            payload = path.read_bytes()
            assert (len(payload), hashlib.md5(payload).hexdigest()) == (
                event.byteSize, event.checkSum)
            header = fits.getheader(path)
            assert (header["OBSID"], header["GROUPID"], header["IMGTYPE"]) == (
                name, visit.groupId, "OBJECT")
            assert (header["RA"], header["DEC"]) == tuple(visit.position)


async def test_plan_night_announces_dusk_calibrations_then_visits_ahead_of_time(
    domain: Domain, site: Path,
) -> None:
    async with ScriptQueueCsc(domain, 1, initial_state=State.ENABLED, config_root=site), \
            Remote(domain, SCRIPT_QUEUE, 1, include=["nextVisit"]) as queue:
        await queue.cmd("planNight").start(numVisits=2, calibrations=True)
        visits = [await queue.evt("nextVisit").next(flush=False, timeout=30) for _ in range(5)]
    kinds = [parse_group_id(v.groupId)[1] for v in visits]
    assert kinds == ["bias", "dark", "flat", "science", "science"]
    assert [v.survey for v in visits] == ["calibration"] * 3 + ["WFD"] * 2
    for visit in visits:
        assert visit.startTime - visit.private_sndStamp >= LEAD_TIME, visit.groupId
    starts = [v.startTime for v in visits]
    assert starts == sorted(starts)
    assert visits[4].startTime - visits[3].startTime == pytest.approx(3.0)  # site cadence


async def test_queue_refuses_late_or_malformed_announcements_and_cancels(
    domain: Domain, site: Path,
) -> None:
    async with ScriptQueueCsc(domain, 1, initial_state=State.ENABLED, config_root=site), \
            Remote(domain, SCRIPT_QUEUE, 1, include=["nextVisit", "nextVisitCanceled"]) as queue:
        announce = queue.cmd("announceVisit")
        with pytest.raises(AckError, match=r"nextVisit must come at least lead_time=2\.0 s"):
            await announce.start(groupId="20261130_science_0100", nimages=2, duration=30.0,
                                 startTime=current_tai() + 0.5)
        with pytest.raises(AckError, match="nimages must be >= 1, got 0"):
            await announce.start(groupId="20261130_science_0100", nimages=0,
                                 startTime=current_tai() + 60)
        with pytest.raises(AckError) as failure:
            await announce.start(groupId="visit-100", nimages=1, startTime=current_tai() + 60)
        assert failure.value.code == AckCode.FAILED and "'visit-100'" in failure.value.ack.result
        await announce.start(groupId="20261130_science_0100", nimages=2, duration=30.0,
                             startTime=current_tai() + 60, position=[10.0, -5.0])
        sent = await queue.evt("nextVisit").next(flush=False, timeout=10)
        assert (sent.groupId, sent.position, sent.nimages) == (
            "20261130_science_0100", [10.0, -5.0], 2)
        await queue.cmd("cancelVisit").start(groupId="20261130_science_0100")
        canceled = await queue.evt("nextVisitCanceled").next(flush=False, timeout=10)
        assert canceled.groupId == "20261130_science_0100"
        with pytest.raises(AckError, match="neither planned nor announced"):
            await queue.cmd("cancelVisit").start(groupId="20261130_science_0100")
