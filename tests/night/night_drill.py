"""What every drill of a night test does: watch the night's science groups, wait for a moment."""

from __future__ import annotations

import asyncio

from dmcs.night.observer import Group
from dmcs.night.orchestrator import Night


class NightDrill:
    """Base of a night test's drills: the night it breaks and what it did so far."""

    def __init__(self, night: Night) -> None:
        self.night = night
        self.done: list[str] = []

    def science(self) -> list[Group]:
        return self.night.observer.science() if self.night.observer else []

    async def until(self, condition: object, timeout: float = 300) -> None:
        async with asyncio.timeout(timeout):
            while not condition():  # type: ignore[operator]
                await asyncio.sleep(0.2)
