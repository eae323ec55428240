"""A short night's alerts as a community broker sees them: confluent-kafka, the registry and
lsst-alert-packet alone read every one, and every one is a valid lsst.v11_1.alert."""

from __future__ import annotations

import asyncio
import copy
import io
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from lsst.alert.packet import Schema

from dmcs.alerts.broker_consumer import (
    BrokerConsumer,
    MalformedAlert,
    ReceivedAlert,
    librdkafka_security,
)
from dmcs.payloads.association.alerts import alert_schema
from dmcs.payloads.association.cutout_fits import cutout_side
from dmcs.sal.domain import Domain
from dmcs.sal.tai import current_tai
from dmcs.services.prompt_processing.alert_stream import PRODUCER_TIMESTAMP, AlertStream
from dmcs.services.prompt_processing.service import PromptProcessingService
from dmcs.services.prompt_processing.settings import PromptProcessingConfig
from dmcs.sims.daq_store import DaqStore
from tests.services.prompt_processing.pp_helpers import (
    DETECTORS,
    SIZE,
    Published,
    camera,
    group,
    read_out_visit,
)

VISITS = (1, 2)
PARTITIONS = 3
UNIX_EPOCH_MJD = 40587.0


def read_stream(domain: Domain, topic: str) -> list[ReceivedAlert | MalformedAlert]:
    consumer = BrokerConsumer(domain.bootstrap_servers, domain.registry_url, topic,
                              librdkafka_security(domain.config.security))
    try:
        return list(consumer.messages())
    finally:
        consumer.close()


async def night_of_alerts(tmp_path: Path, domain: Domain) -> tuple[AlertStream, list[int]]:
    """Visits 1 and 2 through prompt processing; the alerts it reported for each."""
    published = Published()
    config = PromptProcessingConfig(
        daq_root=tmp_path / "daq", work_dir=tmp_path / "pp", ranks=2, heartbeat_s=0.5,
        payload={"detector_size": SIZE, "detectors": DETECTORS})
    stream = AlertStream(domain, partitions=PARTITIONS)
    pp = PromptProcessingService(config, published, stream)
    await pp.start()
    try:
        cam = camera(tmp_path / "daq")
        reported = []
        for visit in VISITS:
            start = current_tai() - 40.0 * (len(VISITS) - visit)
            readouts = await asyncio.to_thread(read_out_visit, cam, visit, start)
            await pp.end_readout(readouts[-1])
            reported.append((await published.wait_for("visitProcessed",
                                                      groupId=group(visit)))["alerts"])
    finally:
        await pp.stop()
    return stream, reported


def midpoint_of(daq: DaqStore, visit: int) -> float:
    snaps = daq.images(group(visit))
    start = min(s.date_obs for s in snaps)
    return UNIX_EPOCH_MJD + (start + sum(s.exposure_time for s in snaps) / 2) / 86400


@pytest.mark.timeout(600)
async def test_a_broker_reads_every_alert_of_a_short_night_with_confluent_kafka_alone(
    tmp_path: Path, domain: Domain
) -> None:
    started_ms = time.time() * 1000
    stream, reported = await night_of_alerts(tmp_path, domain)
    received = await asyncio.to_thread(read_stream, domain, stream.topic)

    assert [m for m in received if isinstance(m, MalformedAlert)] == []
    alerts = [m for m in received if isinstance(m, ReceivedAlert)]
    assert len(alerts) == sum(reported) > 0, "a broker reads what prompt processing reports"
    assert {a.schema_id for a in alerts} == {1101}
    assert all(a.key is None for a in alerts)
    assert all(started_ms <= int(a.headers[PRODUCER_TIMESTAMP]) <= time.time() * 1000
               for a in alerts)
    if len(alerts) >= 10:
        assert len({a.partition for a in alerts}) > 1, "unkeyed alerts spread over partitions"

    schema = Schema(copy.deepcopy(alert_schema().definition))
    assert all(schema.validate(a.packet) for a in alerts)
    packets = [a.packet for a in alerts]
    assert len({p["diaSourceId"] for p in packets}) == len(packets)
    assert all(p["diaSourceId"] == p["diaSource"]["diaSourceId"] for p in packets)
    daq = DaqStore(tmp_path / "daq")
    for visit in VISITS:
        midpoints = [p["diaSource"]["midpointMjdTai"] for p in packets
                     if p["diaSource"]["visit"] == visit]
        assert midpoints == [pytest.approx(midpoint_of(daq, visit), abs=1e-8)] * len(midpoints)
    seen_before = [p for p in packets if p["diaSource"]["visit"] == 2 and p["prvDiaSources"]]
    assert seen_before, "objects seen in visit 1 carry that history in visit 2"
    assert all({s["visit"] for s in p["prvDiaSources"]} == {1} for p in seen_before)
    assert all(p["diaObject"]["nDiaSources"] == len(p["prvDiaSources"]) + 1
               for p in seen_before)

    for p in packets:
        source = p["diaSource"]
        side = cutout_side(source["bboxSize"])
        for name in ("cutoutScience", "cutoutTemplate", "cutoutDifference"):
            with fits.open(io.BytesIO(p[name])) as hdus:
                assert [h.name for h in hdus] == ["IMAGE", "UNCERT", "PSFIMAGE"]
                primary = hdus[0].header
                assert hdus[0].data.shape == (side, side) and primary["BUNIT"] == "nJy"
                at = (source["x"] - primary["CUTMINX"], source["y"] - primary["CUTMINY"])
                ra, dec = WCS(primary).all_pix2world(*at, 0)
                assert np.hypot((ra - source["ra"]) * np.cos(np.deg2rad(dec)),
                                dec - source["dec"]) * 3600 < 0.05
                assert abs(float(hdus["PSFIMAGE"].data.sum()) - 1) < 1e-4
