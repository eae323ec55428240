"""`async with` for the things dmcs opens: started on entry, closed however the block ends."""

from __future__ import annotations

from typing import Self


class AsyncResource:
    """Brokers, HTTP clients, rank pools and CSCs: define `close` (and `start` if needed)."""

    async def start(self) -> None:
        """Nothing to start unless a subclass says so."""

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
