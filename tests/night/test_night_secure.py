"""`dmcs night --brokers 3 --secure`: the night on its own three-node cluster with SASL/SCRAM,
a user per service with prefix ACLs, each CSC process logged in as its own user. Nothing is
allowed without an ACL, so a process with the wrong user (or none) would not get far: the
night being accounted for is the proof the users and ACLs fit the services."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from dmcs.night.kafka_users import NIGHT_USER
from dmcs.night.options import NightOptions
from dmcs.night.orchestrator import Night
from dmcs.sal.config import SECURITY_ENV
from dmcs.testing import unique_subname

pytestmark = pytest.mark.solo

USERNAME_ENV = next(var for var, opt in SECURITY_ENV.items() if opt == "sasl_plain_username")


@pytest.mark.timeout(900)
async def test_a_secure_night_on_three_brokers_is_accounted_for(
    kafka_distribution: object, tmp_path: Path,
) -> None:
    options = NightOptions(root=tmp_path / "night", visits=2, ccds=1, ccd_size=256,
                           cadence=15.0, lead_time=5.0, calibrations=1, deadline=30.0,
                           brokers=3, secure=True, local_efd=False, live=False,
                           subname=unique_subname("secure"))
    out = io.StringIO()
    night = Night(options, Console(file=out, width=300))
    report = await night.run()
    print(out.getvalue()[-2500:])

    assert report.accounted_for, report.problems
    assert report.images_archived == report.images_expected >= 2 * 2
    assert report.cluster["brokers"] == 3 and report.cluster["probe_failed"] == 0
    assert "SASL/SCRAM-SHA-512" in out.getvalue()
    assert night.supervisor is not None and night.domain is not None
    users = {label: (m.env or {}).get(USERNAME_ENV)
             for label, m in night.supervisor.managed.items()}
    assert users["Archiver"] == "archiver" and users["DMCS"] == "dmcs"
    assert users["PromptProcessing"] == "promptprocessing" and users["OCPS:1"] == "ocps"
    assert len(set(users.values())) == len(users)  # a user of its own each
    assert night.domain.config.security["sasl_plain_username"] == NIGHT_USER
