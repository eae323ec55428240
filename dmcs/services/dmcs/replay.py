"""Read event topics from their start: how a restarted DMCS learns what it missed.

A DMCS killed mid-night misses the events published while it was down; the broker still
holds them. This reads each topic once from offset 0 to its current end and returns every
decodable sample, oldest first (by send time), for the caller to skip what it already saw.
"""

from __future__ import annotations

from dmcs.sal.domain import Domain
from dmcs.sal.sample import SalSample
from dmcs.sal.topics.decoder import SchemaPending, TopicDecoder
from dmcs.sal.topics.reader import TopicReader

QUIET_FETCHES = 2
FETCH_TIMEOUT_MS = 300


async def replay(domain: Domain, readers: list[TopicReader]) -> list[tuple[str, SalSample]]:
    """(topic key, sample) of everything on the readers' topics, in send order."""
    by_topic = {r.spec.kafka_topic(domain.subname): r for r in readers}
    await domain.ensure_topics([r.spec for r in readers])
    decoders = {topic: TopicDecoder(r.spec, topic, domain.registry, domain.known_id(r.spec))
                for topic, r in by_topic.items()}
    consumer = domain.new_consumer(fetch_max_wait_ms=50)
    await consumer.start()
    samples: list[tuple[str, SalSample]] = []
    try:
        partitions = [tp for tps in (await domain.partitions(list(by_topic))).values()
                      for tp in tps]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, 0)
        quiet = 0
        pending = {tp for tp, end in ends.items() if end > 0}
        while pending or quiet < QUIET_FETCHES:
            batch = await consumer.getmany(timeout_ms=FETCH_TIMEOUT_MS, max_records=50000)
            quiet = 0 if batch else quiet + 1
            if not batch and quiet >= QUIET_FETCHES:
                break
            for tp, records in batch.items():
                reader, decoder = by_topic[tp.topic], decoders[tp.topic]
                for record in records:
                    try:
                        sample = decoder.decode(record)
                    except SchemaPending as unknown:
                        sample = (decoder.decode(record)
                                  if await decoder.fetch(unknown.schema_id) else None)
                    if sample is not None and reader.index in (0, sample.salIndex):
                        samples.append((topic_key(reader), sample))
                if records and records[-1].offset + 1 >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    samples.sort(key=lambda item: item[1].private_sndStamp)
    return samples


def topic_key(reader: TopicReader) -> str:
    """`Component.event`, the name a tracker dispatches on."""
    return f"{reader.spec.component}.{reader.spec.name}"
