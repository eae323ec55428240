"""Shared benchmark plumbing: a private broker, percentiles, JSON output, the raw producer."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer


def parse_args(description: str, **extra: Any) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    for name, (kind, default, help_text) in extra.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default,
                            help=help_text)
    return parser.parse_args()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def log_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="dmcs-bench-"))


def report(figures: dict[str, Any], json_path: Path | None) -> None:
    for key, value in figures.items():
        print(f"{key:>24}: {value:.3f}" if isinstance(value, float) else f"{key:>24}: {value}")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(figures, indent=2))


async def send_raw(servers: str, topic: str, count: int, make: Callable[[int], bytes], *,
                   linger_ms: int, rate: float | None = None) -> float:
    """Send `make(i)` for i in range(count) to partition 0 of `topic` with a bare aiokafka
    producer, the baseline dmcs is compared with (paced at `rate` per second if given);
    seconds from the first send until the last one is acknowledged."""
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks=1, linger_ms=linger_ms,
                                enable_idempotence=False, max_batch_size=262144)
    await producer.start()
    try:
        start = time.perf_counter()
        delivery = None
        for i in range(count):
            if rate is not None:
                due = start + i / rate
                if due > time.perf_counter():
                    await asyncio.sleep(due - time.perf_counter())
            delivery = await producer.send(topic, make(i), key=b"1", partition=0)
        if delivery is not None:
            await delivery
        return time.perf_counter() - start
    finally:
        await producer.stop()
