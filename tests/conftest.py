"""Shared fixtures: dmcs's test kit (real broker, subnames, CLI, CSC processes) and a Test CSC."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from dmcs.csc.test_csc import TestCsc
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import TEST
from dmcs.sal.remote import Remote

pytest_plugins = ["dmcs.testing.fixtures", "dmcs.testing.kafka_fixtures"]

# pytest-xdist workers inherit COLUMNS=80, which rich consoles created at import would keep
# for good; without it they read each CLI test's own COLUMNS, as in a single process.
os.environ.pop("COLUMNS", None)

#: In-process CSCs claim their identity briefly: each test has a subname of its own.
TEST_CLAIM_SECONDS = 0.2


@pytest.fixture
async def csc(domain: Domain) -> AsyncIterator[TestCsc]:
    """A Test CSC, index 1, in STANDBY."""
    test_csc = TestCsc(domain, 1)
    await test_csc.start(claim_seconds=TEST_CLAIM_SECONDS)
    yield test_csc
    await test_csc.close()


@pytest.fixture
async def remote(domain: Domain, csc: TestCsc) -> AsyncIterator[Remote]:
    """A Remote of that CSC reading everything."""
    async with Remote(domain, TEST, 1) as rem:
        yield rem
