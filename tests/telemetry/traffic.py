"""Test traffic written straight to Kafka: chosen stamps, raw (even malformed) bytes."""

from __future__ import annotations

import asyncio
from typing import Any

from dmcs.sal.codec import encode, header
from dmcs.sal.domain import Domain
from dmcs.sal.interface import TopicKind, TopicSpec
from dmcs.sal.interfaces import TEST
from dmcs.sal.tai import current_tai, tai_minus_utc

SCALARS = TEST.spec(TopicKind.TELEMETRY, "scalars")


class Traffic:
    """Writes Test `scalars` telemetry through the domain's producer, counting what it sent."""

    def __init__(self, domain: Domain, spec: TopicSpec = SCALARS) -> None:
        self.domain = domain
        self.spec = spec
        self.topic = spec.kafka_topic(domain.subname)
        #: Where the EFD keeps it: the schema's namespace + name, as the site's EFD does.
        self.measurement = f"{spec.namespace}.{spec.sal_name}"
        self.sent = 0

    async def start(self) -> Traffic:
        await self.domain.ensure_topics([self.spec])
        return self

    def encoded(self, index: int = 1, snd_stamp: float | None = None, **fields: Any) -> bytes:
        record = self.spec.model(salIndex=index, **fields).model_dump()
        record["private_sndStamp"] = current_tai() if snd_stamp is None else snd_stamp
        record["private_efdStamp"] = record["private_sndStamp"] - tai_minus_utc()
        record["private_seqNum"] = self.sent + 1
        return encode(self.spec.parsed_schema, header(self.domain.schema_id(self.spec)), record)

    async def send_raw(self, payload: bytes) -> None:
        await self.domain.producer.send_and_wait(self.topic, payload, key=b"")

    async def send(self, index: int = 1, snd_stamp: float | None = None, **fields: Any) -> None:
        await self.send_raw(self.encoded(index, snd_stamp, **fields))
        self.sent += 1

    async def run(self, rate: float, stop: asyncio.Event) -> None:
        """Send `rate` messages per second until `stop` is set."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        while not stop.is_set():
            due = start + self.sent / rate
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            await self.send(int0=self.sent)
