"""Readers and writers as users meet them: late joiners, indices, queues, stamps, schemas."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from dmcs.csc.test_csc import TestCsc
from dmcs.sal.ack import AckCode, AckError
from dmcs.sal.codec import decode_body, split_header
from dmcs.sal.config import SalConfig
from dmcs.sal.controller import Controller
from dmcs.sal.domain import Domain
from dmcs.sal.interface import TopicKind
from dmcs.sal.interfaces.test import TEST
from dmcs.sal.remote import Remote
from dmcs.sal.schema_registry import SchemaCatalog
from dmcs.sal.tai import current_tai, tai_minus_utc
from dmcs.testing import assert_next_sample, wait_for_sample, walk_to_enabled


async def test_late_joiner_gets_latest_events_but_no_telemetry(domain: Domain) -> None:
    controller = Controller(domain, TEST, 1)
    await controller.start()
    for i in range(3):
        await controller.evt("scalars").set_write(int0=i)
    await controller.tel("scalars").set_write(int0=99)
    await controller.evt("scalars").flush()
    await controller.tel("scalars").flush()
    async with Remote(domain, TEST, 1, include=["scalars"]) as remote:
        assert remote.evt("scalars").get().int0 == 2
        assert remote.evt("scalars").has_data
        assert not remote.tel("scalars").has_data
        await controller.tel("scalars").set_write(int0=100)
        await assert_next_sample(remote.tel("scalars"), int0=100)
    await controller.close()


async def test_late_joiner_gets_latest_per_index(domain: Domain) -> None:
    controllers = [Controller(domain, TEST, i) for i in (1, 2)]
    for c in controllers:
        await c.start()
    await controllers[0].evt("scalars").set_write(string0="one-old")
    await controllers[1].evt("scalars").set_write(string0="two")
    await controllers[0].evt("scalars").set_write(string0="one-new")
    await controllers[0].evt("scalars").flush()
    async with Remote(domain, TEST, 0, include=["scalars"]) as everyone:
        seen = []
        while len(seen) < 2:
            seen.append((await everyone.evt("scalars").next(flush=False, timeout=5)).string0)
        assert sorted(seen) == ["one-new", "two"]
    async with Remote(domain, TEST, 2, include=["scalars"]) as two:
        assert two.evt("scalars").get().string0 == "two"
    for c in controllers:
        await c.close()


async def test_index_zero_reads_all_indices_and_commands_go_to_one(domain: Domain) -> None:
    cscs = [TestCsc(domain, i) for i in (1, 2)]
    for csc in cscs:
        await csc.start()
    async with Remote(domain, TEST, 0, include=["scalars"]) as everyone, \
            Remote(domain, TEST, 2) as two:
        await walk_to_enabled(two)
        await two.cmd("setScalars").start(int0=22)
        sample = await assert_next_sample(everyone.tel("scalars"), int0=22)
        assert sample.salIndex == 2
        assert cscs[0].summary_state.name == "STANDBY"
        with pytest.raises(ValueError, match="indexed: give the index"):
            await everyone.cmd("start").start()
    for csc in cscs:
        await csc.close()


async def test_private_fields_are_filled(domain: Domain) -> None:
    controller = Controller(domain, TEST, 4)
    await controller.start()
    async with Remote(domain, TEST, 4, include=["scalars"]) as remote:
        for i in range(2):
            await controller.tel("scalars").set_write(int0=i)
        first = await remote.tel("scalars").next(flush=False, timeout=5)
        second = await remote.tel("scalars").next(flush=False, timeout=5)
    await controller.close()
    assert tai_minus_utc() == 37.0
    assert abs(first.private_sndStamp - current_tai()) < 5
    assert first.private_sndStamp <= first.private_rcvStamp
    assert first.private_identity == "Test:4"
    assert first.private_origin == os.getpid()
    assert second.private_seqNum == first.private_seqNum + 1
    assert first.private_revCode == TEST.spec(TopicKind.TELEMETRY, "scalars").rev_code


async def test_queue_is_bounded_and_warns(domain: Domain, caplog: pytest.LogCaptureFixture) -> None:
    controller = Controller(domain, TEST, 1)
    await controller.start()
    async with Remote(domain, TEST, 1, include=["scalars"], queue_len=10) as remote:
        reader = remote.tel("scalars")
        with caplog.at_level(logging.WARNING):
            for i in range(25):
                await controller.tel("scalars").set_write(int0=i)
            while reader.get() is None or reader.get().int0 != 24:
                await asyncio.sleep(0.02)
        assert "reader queue is 8/10 full" in caplog.text
        assert reader.dropped == 15
        assert (await reader.next(flush=False)).int0 == 15
        assert (await reader.aget()).int0 == 24
        with pytest.raises(TimeoutError, match=r"no scalars sample within 0\.2 s"):
            await reader.next(flush=True, timeout=0.2)
    await controller.close()


async def test_async_callbacks_run_in_order(domain: Domain) -> None:
    controller = Controller(domain, TEST, 1)
    await controller.start()
    seen: list[int] = []

    async def slow_callback(sample: Any) -> None:
        await asyncio.sleep(0.01 * (5 - sample.int0))
        seen.append(sample.int0)

    async with Remote(domain, TEST, 1, include=["scalars"]) as remote:
        remote.tel("scalars").callback = slow_callback
        for i in range(5):
            await controller.tel("scalars").set_write(int0=i)
        for _ in range(100):
            if len(seen) == 5:
                break
            await asyncio.sleep(0.05)
    await controller.close()
    assert seen == [0, 1, 2, 3, 4]


async def test_schemas_topic_lets_a_stranger_decode(domain: Domain, sal_config: SalConfig) -> None:
    """Decode traffic using only what is on the broker, as the EFD sink does."""
    controller = Controller(domain, TEST, 5)
    await controller.start()
    await controller.tel("arrays").set_write(int0=[5, 4, 3, 2, 1])
    await controller.tel("arrays").flush()
    await asyncio.sleep(0.2)
    catalog = SchemaCatalog()
    consumer = domain.new_consumer(50)
    await consumer.start()
    assert await catalog.load(consumer, sal_config.subname) >= len(TEST.specs())
    from aiokafka import TopicPartition

    tp = TopicPartition(f"lsst.{sal_config.subname}.Test.arrays", 0)
    consumer.assign([tp])
    consumer.seek(tp, 0)
    record = await asyncio.wait_for(consumer.getone(), 5)
    await consumer.stop()
    await controller.close()
    fingerprint = split_header(record.value)
    assert catalog.topics[fingerprint] == tp.topic
    data = decode_body(record.value, catalog.schemas[fingerprint])
    assert data["int0"] == [5, 4, 3, 2, 1]
    assert data["private_identity"] == "Test:5"


async def test_malformed_commands_are_counted_and_skipped(
    domain: Domain, caplog: pytest.LogCaptureFixture
) -> None:
    csc = TestCsc(domain, 1)
    await csc.start()
    start_topic = TEST.spec(TopicKind.COMMAND, "start").kafka_topic(domain.subname)
    scalars = TEST.spec(TopicKind.TELEMETRY, "scalars")
    producer = AIOKafkaProducer(bootstrap_servers=domain.bootstrap_servers,
                                enable_idempotence=False)
    await producer.start()
    with caplog.at_level(logging.WARNING):
        await producer.send_and_wait(start_topic, b"not avro at all", key=b"1", partition=0)
        await producer.send_and_wait(start_topic, b"\xc3\x01" + b"\x00" * 8 + b"junk",
                                     key=b"1", partition=0)
        await producer.send_and_wait(start_topic, scalars.header + b"\x02\x04", key=b"1",
                                     partition=0)
        await producer.send_and_wait(start_topic, TEST.spec(TopicKind.COMMAND, "start").header
                                     + b"\xff", key=b"1", partition=0)
        async with Remote(domain, TEST, 1) as remote:
            ack = await remote.cmd("start").start()
    await producer.stop()
    assert AckCode(ack.ack) is AckCode.COMPLETE
    assert csc.controller.malformed_commands == 4
    assert "not Avro single-object encoding" in caplog.text
    assert "unknown schema fingerprint 0000000000000000" in caplog.text
    assert "does not match its schema" in caplog.text
    await csc.close()


async def test_auth_list(sal_config: SalConfig, domain: Domain) -> None:
    csc = TestCsc(domain, 1)
    await csc.start()
    async with Domain(sal_config, identity="visitor@elsewhere") as visitor_domain, \
            Domain(sal_config, identity="Script:5") as script_domain:
        owner = Remote(domain, TEST, 1)
        visitor = Remote(visitor_domain, TEST, 1)
        script = Remote(script_domain, TEST, 1)
        for r in (owner, visitor, script):
            await r.start()
        with pytest.raises(AckError) as info:
            await visitor.cmd("start").start()
        assert info.value.code is AckCode.NOPERM
        assert "visitor@elsewhere is not authorized" in info.value.ack.result
        await script.cmd("start").start()

        await owner.cmd("setAuthList").start(authorizedUsers="visitor@elsewhere",
                                             nonAuthorizedCSCs="Script")
        await wait_for_sample(owner.evt("authList"), authorizedUsers="visitor@elsewhere",
                              nonAuthorizedCSCs="Script")
        await visitor.cmd("enable").start()
        with pytest.raises(AckError) as info:
            await script.cmd("disable").start()
        assert info.value.code is AckCode.NOPERM

        await owner.cmd("setAuthList").start(authorizedUsers="-visitor@elsewhere",
                                             nonAuthorizedCSCs="")
        with pytest.raises(AckError) as info:
            await visitor.cmd("disable").start()
        assert info.value.code is AckCode.NOPERM
        await script.cmd("disable").start()
        with pytest.raises(AckError, match="invalid user name"):
            await owner.cmd("setAuthList").start(authorizedUsers="no-at-sign")
        for r in (owner, visitor, script):
            await r.close()
    await csc.close()


async def test_log_messages_and_log_level(remote: Remote, csc: TestCsc) -> None:
    csc.log.warning("detector %s is warm", "R22_S11")
    message = await remote.evt("logMessage").next(flush=False, timeout=5)
    assert message.message == "detector R22_S11 is warm"
    assert message.level == logging.WARNING
    await remote.cmd("setLogLevel").start(level=logging.DEBUG)
    await wait_for_sample(remote.evt("logLevel"), level=logging.DEBUG)


async def test_heartbeat_and_startup_events(domain: Domain, csc: TestCsc) -> None:
    remote = Remote(domain, TEST, 1, include=["heartbeat", "softwareVersions", "simulationMode"])
    await remote.start()
    first = await remote.evt("heartbeat").next(flush=True, timeout=3)
    second = await remote.evt("heartbeat").next(flush=False, timeout=3)
    assert 0.8 < second.private_sndStamp - first.private_sndStamp < 1.5
    versions = await remote.evt("softwareVersions").aget(timeout=5)
    assert versions.cscVersion
    assert (await remote.evt("simulationMode").aget(timeout=5)).mode == 0
    await remote.close()
