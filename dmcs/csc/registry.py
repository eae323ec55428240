"""The CSCs `dmcs run` can start, by component name."""

from __future__ import annotations

from dmcs.csc.base_csc import BaseCsc
from dmcs.csc.test_csc import TestCsc

CSC_CLASSES: dict[str, type[BaseCsc]] = {"Test": TestCsc}


def csc_class(name: str) -> type[BaseCsc]:
    """The CSC class for `name`, or a ValueError listing the runnable components."""
    try:
        return CSC_CLASSES[name]
    except KeyError:
        known = ", ".join(sorted(CSC_CLASSES))
        raise ValueError(f"no CSC named {name!r}; runnable: {known}") from None
