"""Exactly once across a crash: an Archiver process SIGKILLed mid-stream, then restarted."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from lsst.daf.butler import Butler

from dmcs.butler.raws import all_raws
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import ARCHIVER, MT_CAMERA
from dmcs.sal.remote import Remote
from dmcs.services.archiver.audit import audit_archive
from dmcs.sims.camera_csc import CameraCsc
from dmcs.sims.daq_store import CcdState, DaqStore
from dmcs.sims.site_config import write_site_configs
from dmcs.state_machines.summary_state import State

DETECTORS = ["R22_S11", "R22_S12", "R22_S21", "R22_S22"]
IMAGES = 6
#: Guards against a hang only: a loaded 2-core machine may take long to start a process.
EVENT_WAIT = 180.0
DMCS = str(Path(sys.executable).with_name("dmcs"))


async def start_archiver(config_root: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        DMCS, "run", "Archiver", "--state", "enabled", "--config-dir", str(config_root),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        env=dict(os.environ))


async def test_sigkilled_archiver_restarts_and_archives_every_ccd_exactly_once(
    domain: Domain, sal_env: dict[str, str], tmp_path: Path,
) -> None:
    config_root, data = tmp_path / "config", tmp_path / "data"
    write_site_configs(config_root, data, detectors=DETECTORS, detector_size=128,
                       exposure_time_scale=0.0)
    archiver_config = config_root / "Archiver" / "_init.yaml"
    archiver_config.write_text(archiver_config.read_text() + "header_wait: 0.0\n")
    async with CameraCsc(domain, initial_state=State.ENABLED, config_root=config_root), \
            Remote(domain, MT_CAMERA, include=[]) as camera:
        await camera.cmd("takeImages").start(numImages=IMAGES, timeout=120,
                                             keyValueMap="imageType: OBJECT, visit: 4")
    expected = IMAGES * len(DETECTORS)
    reported: set[tuple[str, str, str]] = set()
    async with Remote(domain, ARCHIVER, include=["imageInOODS"]) as archiver:
        process = await start_archiver(config_root)
        try:
            first = await archiver.evt("imageInOODS").next(flush=False, timeout=EVENT_WAIT)
            process.send_signal(signal.SIGKILL)
            assert await process.wait() == -signal.SIGKILL
        finally:
            if process.returncode is None:
                process.kill()
        reported.add((first.obsid, first.raft, first.sensor))
        at_kill = len(all_raws(Butler.from_config(str(data / "archive"))))
        assert 0 < at_kill < expected, f"kill was not mid-stream: {at_kill} of {expected}"
        process = await start_archiver(config_root)
        try:
            while len(reported) < expected:
                sample = await archiver.evt("imageInOODS").next(flush=False, timeout=EVENT_WAIT)
                assert sample.statusCode == 0, sample.description
                reported.add((sample.obsid, sample.raft, sample.sensor))
        finally:
            process.send_signal(signal.SIGTERM)
            await process.wait()
    butler = Butler.from_config(str(data / "archive"))
    raws = all_raws(butler)
    ccds = {(r.dataId.records["exposure"].obs_id, r.dataId.records["detector"].full_name)
            for r in raws}
    assert len(raws) == len(ccds) == expected
    audit = audit_archive(butler, data / "archive")
    assert (audit.records, audit.files, audit.ok) == (expected, expected, True), audit
    daq = DaqStore(data / "daq")
    assert daq.pending() == []
    assert {daq.ccd_state(obsid, detector) for obsid, detector in ccds} == {CcdState.ARCHIVED}
    if shutil.which("fitsverify"):
        paths = [u.primaryURI.ospath for u in butler.get_many_uris(raws).values()
                 if u.primaryURI]
        check = subprocess.run(["fitsverify", "-q", *paths], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout
