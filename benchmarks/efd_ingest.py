"""EFD ingest: Kafka -> EFD writer -> InfluxDB, against InfluxDB's own batch-write rate.

1. Sustained rate: `--count` Test `scalars` messages are on the broker; the writer starts and
   the clock stops when InfluxDB holds every one of them (counted in InfluxDB).
2. Raw baseline, same run: the same line protocol POSTed straight to InfluxDB in 5,000-point
   batches, one request after another.
3. Latency: a separate process writes `--rate` msg/s for `--seconds`; a poller reads InfluxDB
   every 20 ms, latency = time first queryable − `private_sndStamp` (TAI → UTC). `lost` is
   what was written to Kafka and is not in InfluxDB at the end.

The machine may be shared: the load average (1, 5, 15 min) before and after is reported, and
the ratio to the raw rate measured in the same run is the figure to compare across runs.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
import time
from multiprocessing import Queue
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).parent))
from _common import bench_stack, log_dir, median, parse_args, percentile, report, send_raw

from dmcs.sal.codec import encode, header
from dmcs.sal.interface import TopicKind
from dmcs.sal.interfaces import TEST
from dmcs.sal.registry.client import RegistryClient
from dmcs.sal.tai import current_tai, tai_minus_utc
from dmcs.telemetry.avro_lines import compile_converter
from dmcs.telemetry.efd_writer import EfdWriter
from dmcs.telemetry.influx_http import InfluxHttp
from dmcs.telemetry.influx_server import InfluxServer

SPEC = TEST.spec(TopicKind.TELEMETRY, "scalars")
MEASUREMENT = f"{SPEC.namespace}.{SPEC.sal_name}"
BATCH = 5000


def payload(prefix: bytes, i: int, snd: float) -> bytes:
    record = SPEC.model(salIndex=1, int0=i, double0=i * 0.5, string0="bench").model_dump()
    record["private_sndStamp"] = snd
    record["private_efdStamp"] = snd - tai_minus_utc()
    record["private_seqNum"] = i
    return encode(SPEC.parsed_schema, prefix, record)


async def produce(servers: str, topic: str, prefix: bytes, count: int,
                  rate: float | None) -> None:
    await send_raw(servers, topic, count, lambda i: payload(prefix, i, current_tai()),
                   linger_ms=2, rate=rate)


def producer_process(servers: str, topic: str, prefix: bytes, count: int, rate: float,
                     done: Queue) -> None:  # type: ignore[type-arg]
    asyncio.run(produce(servers, topic, prefix, count, rate))
    done.put(count)


async def count_in_influx(influx: InfluxHttp, topic: str) -> int:
    results = await influx.query(f'SELECT count("private_seqNum") FROM "{topic}"')
    series = results[0].get("series") if results else None
    return int(series[0]["values"][0][1]) if series else 0


async def create_topic(servers: str, registry: str, topic: str) -> bytes:
    """Create `topic` and register its schema as every dmcs writer does; the 5-byte header."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 1, 1)])
    await admin.close()
    async with RegistryClient(registry) as client:
        return header(await client.register(f"{topic}-value", SPEC.schema_text))


async def warm_up(url: str, database: str) -> None:
    """Create the database and its first shard, so no measured run pays for them."""
    async with InfluxHttp(url, database) as influx:
        await influx.create_database()
        await influx.write(b"warmup value=1i\n")


async def sustained(servers: str, registry: str, url: str, count: int) -> float:
    topic = "lsst.benchrate.Test.scalars"
    prefix = await create_topic(servers, registry, topic)
    await produce(servers, topic, prefix, count, None)
    await warm_up(url, "benchrate")
    influx = InfluxHttp(url, "benchrate")
    writer = EfdWriter(servers, "benchrate", influx, registry)
    t0 = time.perf_counter()
    await writer.start()
    while writer.health.points_written < count and time.perf_counter() - t0 < 300:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - t0
    await writer.stop()
    stored = await count_in_influx(influx, MEASUREMENT)
    await influx.close()
    assert stored == count, f"InfluxDB holds {stored} of {count}"
    return count / elapsed


async def raw(url: str, count: int) -> float:
    convert = compile_converter("raw.Test.scalars", SPEC.schema)
    offset = tai_minus_utc()
    base = current_tai()
    lines = [convert(payload(header(1), i, base + i * 1e-5), 0, lambda ts: ts, offset)
             for i in range(count)]
    bodies = ["".join(lines[i:i + BATCH]).encode() for i in range(0, count, BATCH)]
    await warm_up(url, "benchraw")
    async with InfluxHttp(url, "benchraw") as influx:
        await influx.create_database()
        t0 = time.perf_counter()
        for body in bodies:
            await influx.write(body)
        return count / (time.perf_counter() - t0)


async def latency(servers: str, registry: str, url: str, rate: float,
                  seconds: float) -> tuple[list[float], int, int]:
    topic = "lsst.benchlat.Test.scalars"
    prefix = await create_topic(servers, registry, topic)
    await warm_up(url, "benchlat")
    influx = InfluxHttp(url, "benchlat")
    writer = EfdWriter(servers, "benchlat", influx, registry)
    await writer.start()
    count = int(rate * seconds)
    spawn = multiprocessing.get_context("spawn")
    done: Queue = spawn.Queue()  # type: ignore[type-arg]
    proc = spawn.Process(target=producer_process,
                         args=(servers, topic, prefix, count, rate, done))
    proc.start()
    offset = tai_minus_utc()
    latencies: list[float] = []
    last_ns = 0
    deadline = time.monotonic() + seconds + 60
    async with InfluxHttp(url, "benchlat") as poller:
        while len(latencies) < count and time.monotonic() < deadline:
            results = await poller.query(
                f'SELECT "private_sndStamp" FROM "{MEASUREMENT}" WHERE time > {last_ns}',
                epoch="ns")
            now = time.time()
            for series in results[0].get("series", []) if results else []:
                for stamp_ns, snd in series["values"]:
                    latencies.append(now - (snd - offset))
                    last_ns = max(last_ns, stamp_ns)
            await asyncio.sleep(0.02)
    proc.join(30)
    stored = await count_in_influx(influx, MEASUREMENT)
    await writer.stop()
    await influx.close()
    return latencies, count, stored


def main() -> None:
    args = parse_args(__doc__ or "",
                      count=(int, 200_000, "messages for the sustained rate"),
                      rate=(float, 5000.0, "messages per second for the latency run"),
                      seconds=(float, 10.0, "length of the latency run"))
    load_before = os.getloadavg()
    with bench_stack(args.broker_kind) as (broker, registry), \
            InfluxServer(log_dir()) as server:
        servers = broker.bootstrap_servers
        ours = asyncio.run(sustained(servers, registry, server.url, args.count))
        raw_rate = asyncio.run(raw(server.url, args.count))
        latencies, sent, stored = asyncio.run(latency(servers, registry, server.url, args.rate,
                                                      args.seconds))
    report({
        "broker": broker.what,
        "ours_per_s": ours,
        "raw_influx_per_s": raw_rate,
        "ratio": ours / raw_rate,
        "p50_ms": median(latencies) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "lost": sent - stored,
        "messages": args.count,
        "latency_rate_per_s": args.rate,
        "load_avg_before": " ".join(f"{v:.2f}" for v in load_before),
        "load_avg_after": " ".join(f"{v:.2f}" for v in os.getloadavg()),
        "cpus": os.cpu_count(),
    }, args.json)


if __name__ == "__main__":
    main()
