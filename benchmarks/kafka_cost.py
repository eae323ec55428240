"""What a Kafka node costs here: start time, memory, idle CPU, and write speed, same run.

Baseline: one node with the JVM options Kafka's own `kafka-server-start.sh` uses (1 GiB heap,
G1, both JIT compilers). Ours: one node as dmcs launches it (512 MiB heap, serial GC, client
compiler only), then three nodes as one cluster. Start = from launch until the node answers a
metadata request naming itself (storage already formatted; formatting is timed apart). Idle
CPU = the node's user+system time over a quiet interval, no client connected. Writes: 20,000
values of 100 bytes from one bare aiokafka producer (acks=1, fire and gather) and 300
sequential acks=all round trips, against each single node.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).parent))
from _common import log_dir, parse_args, report, send_raw

from dmcs.kafka import KafkaCluster, find_distribution
from dmcs.kafka.node import format_all
from dmcs.kafka.process import usage
from dmcs.sal.broker import start_private_broker

#: The options Kafka's kafka-server-start.sh passes (KAFKA_HEAP_OPTS, ..._PERFORMANCE_OPTS).
STOCK_JVM = ("-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
             "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
             "-XX:MaxInlineLevel=15", "-Djava.awt.headless=true", "-Xms1g")
STOCK_HEAP_MB = 1024
SETTLE_S = 5.0


def idle_cpu_percent(pid: int, seconds: float) -> float:
    before = usage(pid).cpu_seconds
    time.sleep(seconds)
    return 100 * (usage(pid).cpu_seconds - before) / seconds


async def writes(servers: str, count: int, round_trips: int) -> tuple[float, float]:
    """Values per second (acks=1, gathered) and the median acks=all round trip in ms."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    await admin.create_topics([NewTopic("bench", 1, 1)])
    await admin.close()
    value = b"x" * 100
    elapsed = await send_raw(servers, "bench", count, lambda i: value, linger_ms=5)
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all", linger_ms=0)
    await producer.start()
    try:
        times = []
        for _ in range(round_trips):
            began = time.perf_counter()
            await producer.send_and_wait("bench", value)
            times.append(time.perf_counter() - began)
    finally:
        await producer.stop()
    return count / elapsed, statistics.median(times) * 1e3


def measure(name: str, size: int, idle_s: float, count: int, round_trips: int,
            **options: Any) -> dict[str, Any]:
    cluster = KafkaCluster(find_distribution(), log_dir(), size, die_with_parent=True,
                           **options)
    began = time.monotonic()
    format_all(cluster.nodes)
    formatted_s = time.monotonic() - began
    try:
        serving_s = cluster.start()
        time.sleep(SETTLE_S)
        pids = [node.pid for node in cluster.nodes if node.pid]
        figures: dict[str, Any] = {
            f"{name}_format_s": formatted_s,
            f"{name}_start_s": serving_s,
            f"{name}_rss_mb": sum(usage(pid).rss_bytes for pid in pids) / 2**20,
            f"{name}_idle_cpu_pct": sum(idle_cpu_percent(pid, idle_s) for pid in pids),
        }
        if size == 1:
            per_s, round_trip_ms = asyncio.run(writes(cluster.bootstrap_servers, count,
                                                      round_trips))
            figures[f"{name}_writes_per_s"] = per_s
            figures[f"{name}_acks_all_ms"] = round_trip_ms
        return figures
    finally:
        cluster.stop(graceful=False)


def tansu_idle(idle_s: float) -> dict[str, float]:
    with start_private_broker(log_dir(), "tansu") as broker:
        time.sleep(SETTLE_S)
        return {"tansu_rss_mb": usage(broker.pid).rss_bytes / 2**20,
                "tansu_idle_cpu_pct": idle_cpu_percent(broker.pid, idle_s)}


def main() -> None:
    args = parse_args(__doc__ or "", idle=(float, 10.0, "seconds of idle CPU measured"),
                      count=(int, 20000, "values written"),
                      round_trips=(int, 300, "acks=all round trips timed"))
    figures = {
        **measure("stock_1", 1, args.idle, args.count, args.round_trips,
                  heap_mb=STOCK_HEAP_MB, jvm_options=STOCK_JVM),
        **measure("dmcs_1", 1, args.idle, args.count, args.round_trips),
        **measure("dmcs_3", 3, args.idle, args.count, args.round_trips),
        **tansu_idle(args.idle),
    }
    figures["ratio_start_dmcs_to_stock"] = figures["dmcs_1_start_s"] / figures["stock_1_start_s"]
    figures["ratio_rss_dmcs_to_stock"] = figures["dmcs_1_rss_mb"] / figures["stock_1_rss_mb"]
    figures["ratio_writes_dmcs_to_stock"] = (figures["dmcs_1_writes_per_s"]
                                             / figures["stock_1_writes_per_s"])
    report(figures, args.json)


if __name__ == "__main__":
    main()
