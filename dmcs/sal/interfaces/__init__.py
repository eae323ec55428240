"""The interfaces dmcs knows, by component name."""

from __future__ import annotations

from dmcs.sal.interface import Interface
from dmcs.sal.interfaces.test import TEST

INTERFACES: dict[str, Interface] = {TEST.name: TEST}


def get_interface(name: str) -> Interface:
    """The interface of `name`, or a ValueError listing the known components."""
    try:
        return INTERFACES[name]
    except KeyError:
        known = ", ".join(sorted(INTERFACES))
        raise ValueError(f"unknown component {name!r}; known components: {known}") from None
