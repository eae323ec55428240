"""A TestCsc and a Remote talking to it, on the test's own topics."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from dmcs.csc.test_csc import TestCsc
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces.test import TEST
from dmcs.sal.remote import Remote


@pytest.fixture
async def csc(domain: Domain) -> AsyncIterator[TestCsc]:
    test_csc = TestCsc(domain, 1)
    await test_csc.start()
    yield test_csc
    await test_csc.close()


@pytest.fixture
async def remote(domain: Domain, csc: TestCsc) -> AsyncIterator[Remote]:
    async with Remote(domain, TEST, 1) as rem:
        yield rem

