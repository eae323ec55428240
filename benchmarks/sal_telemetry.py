"""One writer publishing Test `arrays` telemetry as fast as it can, one Remote counting.

The raw baseline, in the same run, sends the same encoded bytes with a bare aiokafka producer.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import time
from multiprocessing import Queue
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import bench_stack, parse_args, report, sal_config, send_raw

from dmcs.sal.codec import encode, header
from dmcs.sal.config import SalConfig
from dmcs.sal.controller import Controller
from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import TEST
from dmcs.sal.remote import Remote

DRAIN_TIMEOUT = 30.0


def reader_process(config: SalConfig, count: int, ready: Queue, result: Queue) -> None:  # type: ignore[type-arg]
    """Count samples in a process of its own (as a real consumer would be)."""

    async def run() -> None:
        async with Domain(config) as domain:
            remote = Remote(domain, TEST, 1, include=["arrays"], queue_len=10)
            received = 0
            first = last = 0.0

            def count_sample(sample: object) -> None:
                nonlocal received, first, last
                received += 1
                last = time.perf_counter()
                if received == 1:
                    first = last

            remote.tel("arrays").callback = count_sample
            await remote.start()
            ready.put(True)
            deadline = time.monotonic() + DRAIN_TIMEOUT
            while received < count and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            result.put((received, received / max(last - first, 1e-9)))
            await remote.close()

    asyncio.run(run())


async def ours(config: SalConfig, count: int) -> tuple[float, bytes, int]:
    async with Domain(config) as domain:
        controller = Controller(domain, TEST, 1)
        await domain.ensure_topics(TEST.specs())
        writer = controller.tel("arrays")
        t0 = time.perf_counter()
        for i in range(count):
            writer.set(int0=[i, i + 1, i + 2, i + 3, i + 4], double0=[i * 0.5] * 5)
            await writer.write()
        await writer.flush()
        write_rate = count / (time.perf_counter() - t0)
        payload = encode(writer.spec.parsed_schema, header(domain.schema_id(writer.spec)),
                         writer.data.model_dump())
        return write_rate, payload, domain.registry.requests


async def raw(servers: str, count: int, payload: bytes) -> float:
    elapsed = await send_raw(servers, "lsst.benchtel.Test.arrays", count, lambda _: payload,
                             linger_ms=0)
    return count / elapsed


def main() -> None:
    args = parse_args(__doc__ or "", count=(int, 100000, "samples to write"))
    spawn = multiprocessing.get_context("spawn")
    ready: Queue = spawn.Queue()  # type: ignore[type-arg]
    result: Queue = spawn.Queue()  # type: ignore[type-arg]
    with bench_stack(args.broker_kind) as (broker, registry):
        config = sal_config(broker, registry, "benchtel")
        reader = spawn.Process(target=reader_process, args=(config, args.count, ready, result))
        reader.start()
        ready.get(timeout=60)
        write_rate, payload, lookups = asyncio.run(ours(config, args.count))
        received, read_rate = result.get(timeout=DRAIN_TIMEOUT + 30)
        reader.join()
        lost = args.count - received
        raw_rate = asyncio.run(raw(broker.bootstrap_servers, args.count, payload))
    report({
        "broker": broker.what,
        "registry_requests": lookups,
        "ours_write_per_s": write_rate,
        "ours_read_per_s": read_rate,
        "lost": lost,
        "raw_write_per_s": raw_rate,
        "ratio_write": write_rate / raw_rate,
        "message_bytes": len(payload),
        "samples": args.count,
    }, args.json)


if __name__ == "__main__":
    main()
