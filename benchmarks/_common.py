"""Shared benchmark plumbing: a private broker and registry, percentiles, JSON output, the raw
producer."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from dmcs.sal.broker import BrokerProcess, start_private_broker
from dmcs.sal.config import BROKER_ENV, BROKER_KIND_ENV, REGISTRY_ENV, SUBNAME_ENV, SalConfig
from dmcs.sal.registry.process import start_private_registry


def parse_args(description: str, **extra: Any) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--broker-kind", choices=("kafka", "tansu"), default=None,
                        help="the broker to measure on (default: Kafka where it runs here)")
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


@contextlib.contextmanager
def bench_stack(kind: str | None) -> Iterator[tuple[BrokerProcess, str]]:
    """A private broker of `kind` and `dmcs registry` beside it: (broker, registry URL)."""
    logs = log_dir()
    with start_private_broker(logs, kind) as broker, \
            start_private_registry(broker.bootstrap_servers, logs) as registry:  # type: ignore[arg-type]
        yield broker, registry.url


def sal_config(broker: BrokerProcess, registry: str, subname: str) -> SalConfig:
    return SalConfig(bootstrap_servers=broker.bootstrap_servers, subname=subname,
                     schema_registry_url=registry, broker_kind=broker.kind)


def sal_env(broker: BrokerProcess, registry: str, subname: str) -> dict[str, str]:
    """The environment of a `dmcs run` process on this broker and registry."""
    return {BROKER_ENV: broker.bootstrap_servers, REGISTRY_ENV: registry,
            BROKER_KIND_ENV: broker.kind, SUBNAME_ENV: subname}


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
