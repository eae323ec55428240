"""A set of readers that start and stop together, served by the process's one consumer.

A CSC's command readers are one group, a Remote's event/telemetry readers another, its ack
reader a third; each `start` adds its readers to the Domain's :class:`ConsumerHub` (and
returns once readers with history have it), each `stop` removes them.
"""

from __future__ import annotations

from dmcs.sal.domain import Domain
from dmcs.sal.topics.reader import TopicReader


class ReaderGroup:
    """Readers of several topics, started and stopped as one."""

    def __init__(self, domain: Domain, readers: list[TopicReader]) -> None:
        self.domain = domain
        self.readers = readers
        self._started = False

    async def start(self) -> None:
        await self.domain.ensure_topics([r.spec for r in self.readers])
        self._started = True
        await self.domain.hub.add(self.readers)

    def expect_traffic(self) -> None:
        """Records are due soon (acks of a command just sent): fetch with the short wait."""
        self.domain.hub.expect_traffic()

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self.domain.hub.remove(self.readers)
        else:
            for reader in self.readers:
                reader.close()
