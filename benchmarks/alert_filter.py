"""Alerts per second through a user's filter against a raw consume of the same stream.

A private broker and registry; `--alerts` alert packets (three 26 kB cutouts each, as a 30 px
FITS cutout is) are published to a topic as the stream does. Then, in the same run:
raw = confluent-kafka reading every message of the topic, nothing decoded; ours =
``dmcs alerts filter``'s loop (read, decode with the registry's schema through
lsst-alert-packet, evaluate ``diaSource.snr > 20 and diaObject.nDiaSources >= 3``, publish the
matches to another topic). Ratio = ours / raw (alerts per second). The design asks a filter
to keep up with 10,000 alerts per visit on one core: a visit every ~40 s is 250 alerts/s.
"""

from __future__ import annotations

import copy
import json
import time

import numpy as np
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from benchmarks._common import bench_stack, parse_args
from dmcs.alerts.broker_consumer import BrokerConsumer
from dmcs.alerts.expression import AlertFilter
from dmcs.alerts.filter_run import run_filter
from dmcs.alerts.publisher import AlertPublisher
from dmcs.payloads.association.alerts import packet

WHERE = "diaSource.snr > 20 and diaObject.nDiaSources >= 3"
CUTOUT_BYTES = 25_920
VISIT_ALERTS, VISIT_SECONDS = 10_000, 40.0


def packets(count: int) -> list[dict]:
    rng = np.random.default_rng(3)
    source = {"diaSourceId": 0, "visit": 1, "detector": 0, "ra": 150.0, "dec": 2.0, "x": 1.0,
              "y": 2.0, "psfFlux": 1e4, "psfFluxErr": 1e2, "snr": 0.0, "isNegative": False,
              "midpointMjdTai": 61000.0, "timeProcessedMjdTai": 61000.1, "psfNdata": 49,
              "bboxSize": 12, "diaObjectId": 0}
    dia_object = {"diaObjectId": 0, "validityStartMjdTai": 61000.0, "ra": 150.0, "dec": 2.0,
                  "nDiaSources": 1, **{f"{b}_psfFluxNdata": 0 for b in "ugrizy"}}
    cutout = rng.bytes(CUTOUT_BYTES)
    out = []
    for i in range(count):
        s = dict(source, diaSourceId=i + 1, diaObjectId=i + 1, snr=float(rng.uniform(5, 40)))
        o = dict(dia_object, diaObjectId=i + 1, nDiaSources=int(rng.integers(1, 6)))
        out.append(packet(s, [copy.copy(s)] * min(3, o["nDiaSources"] - 1), o,
                          (cutout, cutout, cutout)))
    return out


def raw_consume(bootstrap: str, topic: str, count: int) -> float:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"raw-{time.time()}",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    started, seen = time.perf_counter(), 0
    while seen < count:
        message = consumer.poll(5)
        assert message is not None and not message.error()
        seen += 1
    elapsed = time.perf_counter() - started
    consumer.close()
    return elapsed


def main() -> None:
    args = parse_args(__doc__ or "", alerts=(int, 3_000, "alerts on the stream"))
    with bench_stack(args.broker_kind) as (broker, registry):
        bootstrap = broker.bootstrap_servers
        publisher = AlertPublisher(bootstrap, registry, "bench-alerts")
        made = packets(args.alerts)
        for p in made:
            publisher.publish(p)
        publisher.close()
        raw_s = raw_consume(bootstrap, "bench-alerts", args.alerts)
        consumer = BrokerConsumer(bootstrap, registry, "bench-alerts")
        started = time.perf_counter()
        counts = run_filter(consumer, AlertFilter(WHERE),
                            AlertPublisher(bootstrap, registry, "bench-bright"))
        ours_s = time.perf_counter() - started
        consumer.close()
    assert counts.read == args.alerts and counts.malformed == counts.failed == 0
    figures = {
        "alerts": args.alerts,
        "matched": counts.matched,
        "raw_consume_alerts_per_s": args.alerts / raw_s,
        "filter_alerts_per_s": args.alerts / ours_s,
        "ratio_to_raw": raw_s / ours_s,
        "needed_alerts_per_s": VISIT_ALERTS / VISIT_SECONDS,
        "broker": broker.kind,
    }
    for name, value in figures.items():
        print(f"{name:28} {value:.4g}" if isinstance(value, float) else f"{name:28} {value}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
