"""Sequential commands to a TestCsc vs. a bare aiokafka two-hop round trip, same run.

Ours: Remote → command topic → TestCsc in its own process (`dmcs run`; setScalars writes an
event and telemetry) → ackcmd → Remote. Raw: produce → consume → produce → consume of a message
of the same size, the echo also in its own process, with the same consumer fetch waits, no
encoding and no framework.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import subprocess
import sys
import time
from multiprocessing import Queue
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).parent))
from _common import bench_stack, median, parse_args, percentile, report, sal_config, sal_env

from dmcs.sal.broker import BrokerProcess
from dmcs.sal.broker_profile import broker_profile
from dmcs.sal.config import SalConfig
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import TEST
from dmcs.sal.remote import Remote
from dmcs.testing import wait_for_sample

SUBNAME = "benchcmd"
WARM_UP = 20
#: A setScalars command's size on the wire, roughly (5-byte header, private fields, values).
RAW_SIZE = 120


def start_csc(broker: BrokerProcess, registry: str) -> subprocess.Popen[bytes]:
    """A Test CSC in its own process, as operators run it."""
    env = {**os.environ, **sal_env(broker, registry, SUBNAME)}
    dmcs = Path(sys.executable).parent / "dmcs"
    return subprocess.Popen([str(dmcs), "run", "Test", "--index", "1", "--state", "enabled"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def ours(config: SalConfig, count: int) -> tuple[list[float], float]:
    async with Domain(config) as domain:
        remote = Remote(domain, TEST, 1, include=["summaryState"])
        await remote.start()
        await wait_for_sample(remote.evt("summaryState"), timeout=60, summaryState=2)
        command = remote.cmd("setScalars")
        for i in range(WARM_UP):
            await command.start(int0=i, string0="warm-up")
        times = []
        begin = time.perf_counter()
        for i in range(count):
            t0 = time.perf_counter()
            await command.start(int0=i, double0=i * 0.5, string0="benchmark")
            times.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - begin
        await remote.close()
        return times, count / elapsed


async def _consumer(servers: str, topic: str, wait_ms: int) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, group_id=None,
                                enable_auto_commit=False, fetch_max_wait_ms=wait_ms)
    await consumer.start()
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    await consumer.seek_to_end(tp)
    return consumer


def raw_echo(servers: str, wait_ms: int, ready: Queue) -> None:  # type: ignore[type-arg]
    """The raw baseline's far end: every request is produced back as a reply."""

    async def run() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=servers, linger_ms=0, acks=1,
                                    enable_idempotence=False)
        await producer.start()
        requests = await _consumer(servers, "raw.request", wait_ms)
        ready.put(True)
        async for message in requests:
            await producer.send("raw.reply", message.value, partition=0)

    asyncio.run(run())


async def raw(servers: str, wait_ms: int, count: int, size: int) -> list[float]:
    producer = AIOKafkaProducer(bootstrap_servers=servers, linger_ms=0, acks=1,
                                enable_idempotence=False)
    await producer.start()
    replies = await _consumer(servers, "raw.reply", wait_ms)
    payload = b"x" * size
    times = []
    for i in range(count + WARM_UP):
        t0 = time.perf_counter()
        await producer.send("raw.request", payload, partition=0)
        await replies.getone()
        if i >= WARM_UP:
            times.append(time.perf_counter() - t0)
    await replies.stop()
    await producer.stop()
    return times


async def create_raw_topics(servers: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    await admin.create_topics([NewTopic("raw.request", 1, 1), NewTopic("raw.reply", 1, 1)])
    await admin.close()


def main() -> None:
    args = parse_args(__doc__ or "", count=(int, 1000, "commands to time"))
    spawn = multiprocessing.get_context("spawn")
    with bench_stack(args.broker_kind) as (broker, registry):
        servers = broker.bootstrap_servers
        wait_ms = broker_profile(broker.kind).busy_wait_ms  # the raw baseline polls as ours do
        csc = start_csc(broker, registry)
        try:
            times, per_s = asyncio.run(ours(sal_config(broker, registry, SUBNAME), args.count))
        finally:
            csc.terminate()
            csc.wait(10)
        asyncio.run(create_raw_topics(servers))
        ready: Queue = spawn.Queue()  # type: ignore[type-arg]
        echo = spawn.Process(target=raw_echo, args=(servers, wait_ms, ready), daemon=True)
        echo.start()
        ready.get(timeout=60)
        raw_times = asyncio.run(raw(servers, wait_ms, args.count, RAW_SIZE))
        echo.terminate()
    report({
        "broker": broker.what,
        "ours_median_ms": median(times) * 1e3,
        "ours_p99_ms": percentile(times, 0.99) * 1e3,
        "ours_per_s": per_s,
        "raw_median_ms": median(raw_times) * 1e3,
        "raw_p99_ms": percentile(raw_times, 0.99) * 1e3,
        "ratio_median": median(times) / median(raw_times),
        "commands": args.count,
    }, args.json)


if __name__ == "__main__":
    main()
