"""The simulated camera: the image cycle per image, pixels in the DAQ store, bad requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dmcs.sal.ack import AckCode, AckError
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import IMAGE_EVENTS, MT_CAMERA
from dmcs.sal.remote import Remote
from dmcs.sims.camera_csc import CameraCsc
from dmcs.sims.daq_store import CcdState, DaqStore
from dmcs.state_machines.summary_state import State

DETECTORS = ["R22_S11", "R22_S12"]  # as the site fixture configures


@pytest.fixture
async def camera(domain: Domain, site: Path) -> AsyncIterator[tuple[CameraCsc, Remote]]:
    csc = CameraCsc(domain, initial_state=State.ENABLED, config_root=site)
    await csc.start()
    async with Remote(domain, MT_CAMERA, include=[*IMAGE_EVENTS, "daqStatus"]) as remote:
        yield csc, remote
    await csc.close()


async def test_take_images_publishes_the_image_cycle_and_fills_the_daq(
    camera: tuple[CameraCsc, Remote], site: Path,
) -> None:
    csc, remote = camera
    ack = await remote.cmd("takeImages").start(
        numImages=2, expTime=15.0,
        keyValueMap="imageType: OBJECT, groupId: 20261130_science_0007, visit: 7", timeout=60)
    names = ack.result.removeprefix("took ").split(", ")
    assert len(names) == 2
    for index, name in enumerate(names, start=1):
        cycle = [await remote.evt(topic).next(flush=False, timeout=10) for topic in IMAGE_EVENTS]
        assert [(e.imageName, e.imageIndex, e.imagesInSequence) for e in cycle] == [
            (name, index, 2)] * 4
        stamps = [e.private_sndStamp for e in cycle]
        assert stamps == sorted(stamps), "events out of order"
        assert cycle[0].additionalKeys == "imageType:groupId:visit"
        assert cycle[0].additionalValues == "OBJECT:20261130_science_0007:7"
        assert name == f"MC_O_{cycle[0].imageDate}_{cycle[0].imageNumber:06d}"
    assert csc.camera is not None
    daq = DaqStore(csc.camera.daq.root)
    snaps = daq.images(group_id="20261130_science_0007")
    assert [(i.name, i.visit, i.snap, i.image_type) for i in snaps] == [
        (names[0], 7, 0, "OBJECT"), (names[1], 7, 1, "OBJECT")]
    raw = daq.read_raw(names[1], DETECTORS[1])
    assert len(raw.amps) == 16
    assert raw.amps[0].shape == (64, 16 + 32)
    assert raw.metadata["VISIT"] == 7 and raw.metadata["SNAP"] == 1
    assert raw.wcs is not None
    status = await remote.tel("daqStatus").next(flush=False, timeout=10)
    assert status.imagesUnarchived >= 1


async def test_calibration_images_are_simulated_as_their_type(
    camera: tuple[CameraCsc, Remote],
) -> None:
    csc, remote = camera
    ack = await remote.cmd("takeImages").start(numImages=1, expTime=0.0, shutter=False,
                                               keyValueMap="imageType: BIAS", timeout=60)
    name = ack.result.removeprefix("took ")
    assert csc.camera is not None
    raw = csc.camera.daq.read_raw(name, DETECTORS[0])
    assert raw.metadata["IMGTYPE"] == "bias" and raw.metadata["EXPTIME"] == 0.0


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"numImages": 0}, "numImages must be >= 1, got 0"),
        ({"numImages": 1, "sensors": "R22_S11:R99_S11"}, "unknown sensor(s) R99_S11"),
        ({"numImages": 1, "keyValueMap": "imageType: SKYFLAT"}, "imageType 'SKYFLAT'"),
        ({"numImages": 1, "keyValueMap": "visit"}, "keyValueMap item 'visit'"),
    ],
)
async def test_bad_take_images_fails_naming_the_problem_and_camera_carries_on(
    camera: tuple[CameraCsc, Remote], fields: dict[str, object], reason: str,
) -> None:
    _, remote = camera
    with pytest.raises(AckError) as failure:
        await remote.cmd("takeImages").start(expTime=1.0, **fields, timeout=30)
    assert failure.value.code == AckCode.FAILED
    assert reason in failure.value.ack.result
    ack = await remote.cmd("takeImages").start(numImages=1, expTime=1.0, sensors="R22_S11",
                                               timeout=60)
    assert ack.result.startswith("took MC_O_")


async def test_a_full_daq_refuses_new_images_until_the_archiver_frees_one(
    domain: Domain, site: Path,
) -> None:
    config = site / "MTCamera" / "_init.yaml"
    config.write_text(config.read_text().replace("daq_capacity: 1000", "daq_capacity: 1"))
    async with CameraCsc(domain, initial_state=State.ENABLED, config_root=site) as csc, \
            Remote(domain, MT_CAMERA, include=[]) as remote:
        first = (await remote.cmd("takeImages").start(numImages=1, timeout=60)).result
        with pytest.raises(AckError) as failure:
            await remote.cmd("takeImages").start(numImages=1, timeout=60)
        assert "DAQ store full" in failure.value.ack.result
        assert isinstance(csc, CameraCsc) and csc.camera is not None
        daq = csc.camera.daq
        for detector in DETECTORS:
            daq.mark(first.removeprefix("took "), detector, CcdState.ARCHIVED)
        second = (await remote.cmd("takeImages").start(numImages=1, timeout=60)).result
        assert [i.name for i in daq.images()] == [second.removeprefix("took ")]
