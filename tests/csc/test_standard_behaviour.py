"""The Test CSC passes the test kit's standard behaviour checks, as every service must."""

from __future__ import annotations

from pathlib import Path

from dmcs.csc.test_csc import TestCsc
from dmcs.sal.domain import Domain
from dmcs.testing.csc_checks import check_standard_behaviour


async def test_test_csc_standard_behaviour(domain: Domain, tmp_path: Path) -> None:
    await check_standard_behaviour(domain, TestCsc, tmp_path, index=1)
