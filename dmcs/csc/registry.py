"""The CSCs `dmcs run` can start, by component name."""

from __future__ import annotations

from typing import Any, Protocol

from dmcs.csc.base_csc import BaseCsc
from dmcs.csc.test_csc import TestCsc
from dmcs.sal.domain import Domain


class CscFactory(Protocol):
    """How a registered CSC is built: ``factory(domain, index, **options)``."""

    def __call__(self, domain: Domain, index: int, **options: Any) -> BaseCsc: ...


CSC_CLASSES: dict[str, CscFactory] = {"Test": TestCsc}


def csc_class(name: str) -> CscFactory:
    """The CSC factory for `name`, or a ValueError listing the runnable components."""
    try:
        return CSC_CLASSES[name]
    except KeyError:
        known = ", ".join(sorted(CSC_CLASSES))
        raise ValueError(f"no CSC named {name!r}; runnable: {known}") from None
