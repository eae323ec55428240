"""The Archiver behaves as a CSC should (states, events, bad configuration, exit)."""

from __future__ import annotations

from pathlib import Path

from dmcs.sal.domain import Domain
from dmcs.services.archiver.csc import ArchiverCsc
from dmcs.testing.csc_checks import check_standard_behaviour


async def test_standard_behaviour(domain: Domain, sal_env: dict[str, str],
                                  tmp_path: Path) -> None:
    await check_standard_behaviour(domain, ArchiverCsc, tmp_path)
