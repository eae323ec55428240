"""Sequential commands to a TestCsc vs. a bare aiokafka two-hop round trip, same run.

Ours: Remote → command topic → TestCsc (setScalars: writes an event and telemetry) → ackcmd →
Remote. Raw: produce → consume → produce → consume of a message of the same size, with the
same consumer settings, no encoding and no framework.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).parent))
from _common import log_dir, median, parse_args, percentile, report

from dmcs.csc.test_csc import TestCsc
from dmcs.sal.broker import start_private_broker
from dmcs.sal.config import SalConfig
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces.test import TEST
from dmcs.sal.remote import Remote
from dmcs.sal.topics.reader_group import DEFAULT_FETCH_WAIT_MS, FAST_FETCH_WAIT_MS


async def ours(servers: str, count: int) -> tuple[list[float], float, int]:
    async with Domain(SalConfig(bootstrap_servers=servers, subname="benchcmd")) as domain:
        csc = TestCsc(domain, 1)
        await csc.start()
        remote = Remote(domain, TEST, 1, include=["summaryState"])
        await remote.start()
        await remote.cmd("start").start()
        await remote.cmd("enable").start()
        command = remote.cmd("setScalars")
        for i in range(20):
            await command.start(int0=i, string0="warm-up")
        times = []
        begin = time.perf_counter()
        for i in range(count):
            t0 = time.perf_counter()
            await command.start(int0=i, double0=i * 0.5, string0="benchmark")
            times.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - begin
        size = len(command._writer.spec.header) + 60
        await remote.close()
        await csc.close()
        return times, count / elapsed, size


async def raw(servers: str, count: int, size: int) -> list[float]:
    """Bare aiokafka: request topic → echo → reply topic, one partition each."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    await admin.create_topics([NewTopic("raw.request", 1, 1), NewTopic("raw.reply", 1, 1)])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=servers, linger_ms=0, acks=1,
                                enable_idempotence=False)
    await producer.start()
    consumers = []
    for topic, wait_ms in (("raw.request", DEFAULT_FETCH_WAIT_MS),
                           ("raw.reply", FAST_FETCH_WAIT_MS)):
        consumer = AIOKafkaConsumer(bootstrap_servers=servers, group_id=None,
                                    enable_auto_commit=False, fetch_max_wait_ms=wait_ms)
        await consumer.start()
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_end(tp)
        consumers.append(consumer)
    request_reader, reply_reader = consumers

    async def echo() -> None:
        while True:
            message = await request_reader.getone()
            await producer.send("raw.reply", message.value)

    echo_task = asyncio.create_task(echo())
    payload = b"x" * size
    times = []
    for i in range(count + 20):
        t0 = time.perf_counter()
        await producer.send("raw.request", payload)
        await reply_reader.getone()
        if i >= 20:
            times.append(time.perf_counter() - t0)
    echo_task.cancel()
    for consumer in consumers:
        await consumer.stop()
    await producer.stop()
    return times


def main() -> None:
    args = parse_args(__doc__ or "", count=(int, 1000, "commands to time"))
    with start_private_broker(log_dir()) as broker:
        times, per_s, size = asyncio.run(ours(broker.bootstrap_servers, args.count))
        raw_times = asyncio.run(raw(broker.bootstrap_servers, args.count, size))
    figures = {
        "ours_median_ms": median(times) * 1e3,
        "ours_p99_ms": percentile(times, 0.99) * 1e3,
        "ours_per_s": per_s,
        "raw_median_ms": median(raw_times) * 1e3,
        "raw_p99_ms": percentile(raw_times, 0.99) * 1e3,
        "ratio_median": median(times) / median(raw_times),
        "commands": args.count,
    }
    report(figures, args.json)


if __name__ == "__main__":
    main()
