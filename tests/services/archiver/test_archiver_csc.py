"""The Archiver CSC with the camera and header service: live archiving, catch-up, bad data,
and a PostgreSQL registry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from astropy.io import fits
from lsst.daf.butler import Butler, ButlerConfig

from dmcs.butler.raws import all_raws
from dmcs.sal.broker import free_port
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import ARCHIVER, MT_CAMERA
from dmcs.sal.remote import Remote
from dmcs.services.archiver.audit import audit_archive
from dmcs.services.archiver.csc import ArchiverCsc
from dmcs.sims.camera_csc import CameraCsc
from dmcs.sims.header_csc import HeaderServiceCsc
from dmcs.state_machines.summary_state import State
from dmcs.testing import assert_next_summary_state, wait_for_sample

DETECTORS = ["R22_S11", "R22_S12"]  # as the site fixture configures


@pytest.fixture
async def observatory(domain: Domain, site: Path) -> AsyncIterator[Remote]:
    """Camera and header service ENABLED; a camera remote to take images with."""
    async with CameraCsc(domain, initial_state=State.ENABLED, config_root=site), \
            HeaderServiceCsc(domain, initial_state=State.ENABLED, config_root=site), \
            Remote(domain, MT_CAMERA, include=["endReadout"]) as camera:
        yield camera


@pytest.fixture
async def archiver(domain: Domain, site: Path) -> AsyncIterator[tuple[ArchiverCsc, Remote]]:
    """An Archiver in DISABLED, and a remote reading its events and telemetry."""
    async with ArchiverCsc(domain, initial_state=State.DISABLED, config_root=site) as csc, \
            Remote(domain, ARCHIVER) as remote:
        assert isinstance(csc, ArchiverCsc)
        yield csc, remote


def set_registry_url(site: Path, url: str) -> None:
    config = site / "Archiver" / "_init.yaml"
    config.write_text(config.read_text() + f"registry_url: {url}\n")


async def take(camera: Remote, count: int) -> list[str]:
    ack = await camera.cmd("takeImages").start(numImages=count, expTime=15.0, timeout=60,
                                               keyValueMap="imageType: OBJECT, visit: 2")
    return str(ack.result).removeprefix("took ").split(", ")


async def reports(remote: Remote, count: int) -> list[Any]:
    return [await remote.evt("imageInOODS").next(flush=False, timeout=30) for _ in range(count)]


async def test_every_ccd_read_out_is_archived_with_its_header_and_reported(
    observatory: Remote, archiver: tuple[ArchiverCsc, Remote], tmp_path: Path,
) -> None:
    csc, remote = archiver
    await remote.cmd("enable").start()
    names = await take(observatory, 2)
    got = await reports(remote, 4)
    assert sorted((r.obsid, f"{r.raft}_{r.sensor}", r.statusCode) for r in got) == sorted(
        (name, detector, 0) for name in names for detector in DETECTORS)
    assert {r.camera for r in got} == {"LSSTCam"}
    assert csc.archiver is not None
    uris = csc.archiver.butler.get_many_uris(all_raws(csc.archiver.butler)).values()
    headers = [fits.getheader(u.primaryURI.ospath) for u in uris if u.primaryURI]
    assert len(headers) == 4
    assert all(h["HEADURL"].endswith("_header.fits") and h["HEADMD5"] for h in headers)
    audit = audit_archive(csc.archiver.butler, tmp_path / "data" / "archive")
    assert (audit.records, audit.files, audit.ok) == (4, 4, True)
    status = await wait_for_sample(remote.tel("archiveStatus"), ccdsArchived=4)
    assert (status.imagesArchived, status.backlog, status.failures) == (2, 0, 0)


async def test_images_taken_while_disabled_are_caught_up_on_enable_and_on_command(
    observatory: Remote, archiver: tuple[ArchiverCsc, Remote],
) -> None:
    csc, remote = archiver
    first = await take(observatory, 1)
    await remote.cmd("enable").start()
    caught_up = await reports(remote, 2)
    assert {r.obsid for r in caught_up} == set(first)
    await remote.cmd("disable").start()
    second = await take(observatory, 1)
    await remote.cmd("enable").start()
    ack = await remote.cmd("catchUp").start(timeout=60)
    assert "failed" in ack.result
    later = await reports(remote, 2)
    assert {r.obsid for r in later} == set(second) and {r.statusCode for r in later} == {0}
    assert csc.archiver is not None and len(all_raws(csc.archiver.butler)) == 4


async def test_a_damaged_daq_file_is_reported_and_the_archiver_carries_on(
    observatory: Remote, archiver: tuple[ArchiverCsc, Remote],
) -> None:
    csc, remote = archiver
    [name] = await take(observatory, 1)
    assert csc.archiver is not None
    damaged = csc.archiver.daq.ccd_path(name, "R22_S11")
    damaged.write_bytes(damaged.read_bytes()[:100])
    await remote.cmd("enable").start()
    got = {f"{r.raft}_{r.sensor}": r for r in await reports(remote, 2)}
    assert got["R22_S11"].statusCode == 1
    assert str(damaged) in got["R22_S11"].description
    assert got["R22_S12"].statusCode == 0
    [later] = await take(observatory, 1)
    assert {r.statusCode for r in await reports(remote, 2)} == {0}
    archived = {ref.dataId.records["exposure"].obs_id for ref in all_raws(csc.archiver.butler)}
    assert later in archived
    assert csc.summary_state == State.ENABLED


async def test_catch_up_is_refused_unless_enabled(
    archiver: tuple[ArchiverCsc, Remote],
) -> None:
    _, remote = archiver
    await assert_next_summary_state(remote, State.DISABLED)
    with pytest.raises(Exception, match="catchUp not allowed in state DISABLED"):
        await remote.cmd("catchUp").start(timeout=10)


async def test_a_postgresql_registry_url_registers_every_ccd_there(
    observatory: Remote, domain: Domain, site: Path, postgres_url: str, tmp_path: Path,
) -> None:
    set_registry_url(site, postgres_url)
    async with ArchiverCsc(domain, initial_state=State.DISABLED, config_root=site), \
            Remote(domain, ARCHIVER) as remote:
        await remote.cmd("enable").start()
        [name] = await take(observatory, 1)
        got = await reports(remote, 2)
    assert sorted((r.obsid, f"{r.raft}_{r.sensor}", r.statusCode) for r in got) == [
        (name, detector, 0) for detector in DETECTORS]
    root = tmp_path / "data" / "archive"
    audit = audit_archive(Butler.from_config(str(root)), root)
    assert (audit.records, audit.files, audit.ok) == (2, 2, True)
    assert not list(root.glob("*.sqlite*"))
    database = postgres_url.rsplit("/", 1)[1]
    assert ButlerConfig(str(root))["registry", "db"].endswith(f"/{database}")


async def test_an_unreachable_registry_fails_start_naming_it(
    domain: Domain, site: Path,
) -> None:
    set_registry_url(site, f"postgresql://dmcs:secret@127.0.0.1:{free_port()}/registry")
    async with ArchiverCsc(domain, config_root=site), Remote(domain, ARCHIVER) as remote:
        with pytest.raises(Exception, match=r"archiver configuration: Butler registry "
                                            r"postgresql://dmcs:\*\*\*@127\.0\.0\.1:\d+/registry: "
                                            r"connection failed"):
            await remote.cmd("start").start(timeout=30)
