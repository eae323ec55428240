"""Every simulator behaves as a CSC should (states, events, bad configuration, exit)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmcs.csc.base_csc import BaseCsc
from dmcs.sal.domain import Domain
from dmcs.sims.camera_csc import CameraCsc
from dmcs.sims.header_csc import HeaderServiceCsc
from dmcs.sims.script_queue_csc import ScriptQueueCsc
from dmcs.testing.csc_checks import check_standard_behaviour


@pytest.mark.parametrize(("csc_class", "index"),
                         [(CameraCsc, 0), (HeaderServiceCsc, 0), (ScriptQueueCsc, 1)])
async def test_standard_behaviour(domain: Domain, sal_env: dict[str, str], tmp_path: Path,
                                  csc_class: type[BaseCsc], index: int) -> None:
    await check_standard_behaviour(domain, csc_class, tmp_path, index=index)
