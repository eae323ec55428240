"""Readers and writers as users meet them: late joiners, indices, queues, stamps, schemas."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import os
import urllib.request
from typing import Any

import fastavro
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from dmcs.csc.test_csc import TestCsc
from dmcs.sal.ack import AckCode, AckError
from dmcs.sal.codec import encode, header
from dmcs.sal.config import SalConfig
from dmcs.sal.controller import Controller
from dmcs.sal.domain import Domain
from dmcs.sal.interface import TopicKind
from dmcs.sal.interface_file import load_interface
from dmcs.sal.interfaces import TEST
from dmcs.sal.remote import Remote
from dmcs.sal.tai import current_tai, tai_minus_utc
from dmcs.sal.topics.consumer_hub import HISTORY_DEPTH
from dmcs.sal.topics.writer import message_key
from dmcs.state_machines.summary_state import State
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


async def test_a_listen_only_remote_reads_what_it_names_and_nothing_else(
        domain: Domain, csc: TestCsc) -> None:
    """It wakes for its topics only: no heartbeats, no acks; it has no commands to send."""
    async with Remote(domain, TEST, 1, include=["summaryState"], listen_only=True) as listener:
        assert (await listener.evt("summaryState").aget(timeout=5)).summaryState == State.STANDBY
        read = {topic.rsplit(".", 1)[-1] for topic in domain.hub.topics}
        assert "logevent_summaryState" in read
        assert not read & {"logevent_heartbeat", "ackcmd"}
        with pytest.raises(ValueError, match="not available"):
            listener.evt("heartbeat")
        with pytest.raises(ValueError, match="not available"):
            listener.cmd("start")
    with pytest.raises(ValueError, match="names the topics"):
        Remote(domain, TEST, 1, listen_only=True)


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
    spec = TEST.spec(TopicKind.TELEMETRY, "scalars")
    assert first.private_revCode == hashlib.md5(spec.schema_text.encode()).hexdigest()[:8]
    assert first.private_efdStamp == pytest.approx(first.private_sndStamp - 37.0, abs=1e-6)
    assert first.private_kafkaStamp == first.private_sndStamp


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


async def test_a_stranger_decodes_with_the_registry_alone(domain: Domain) -> None:
    """Decode traffic with nothing but the registry's REST API and fastavro."""
    controller = Controller(domain, TEST, 5)
    await controller.start()
    await controller.tel("arrays").set_write(int0=[5, 4, 3, 2, 1])
    await controller.tel("arrays").flush()
    topic = f"lsst.{domain.subname}.Test.arrays"
    consumer = domain.new_consumer(50)
    await consumer.start()
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek(tp, 0)
    record = await asyncio.wait_for(consumer.getone(), 5)
    await consumer.stop()
    await controller.close()
    assert record.key == b""
    assert record.value[0] == 0
    writer_id = int.from_bytes(record.value[1:5], "big")
    with urllib.request.urlopen(f"{domain.registry_url}/schemas/ids/{writer_id}") as response:
        schema = json.loads(json.loads(response.read())["schema"])
    assert (schema["namespace"], schema["name"]) == ("lsst.sal.Test", "arrays")
    data = fastavro.schemaless_reader(io.BytesIO(record.value[5:]), schema, None)
    assert data["int0"] == [5, 4, 3, 2, 1]  # type: ignore[index]
    assert data["private_identity"] == "Test:5"  # type: ignore[index]


async def test_keys_are_salobj_s(domain: Domain) -> None:
    csc = TestCsc(domain, 3)
    await csc.start()
    async with Remote(domain, TEST, 3) as remote:
        await remote.cmd("setLogLevel").start(level=20)
    consumer = domain.new_consumer(50)
    await consumer.start()
    keys = {}
    for name in ("command_setLogLevel", "logevent_heartbeat", "ackcmd"):
        tp = TopicPartition(f"lsst.{domain.subname}.Test.{name}", 0)
        consumer.assign([tp])
        consumer.seek(tp, 0)
        keys[name] = (await asyncio.wait_for(consumer.getone(), 5)).key
    await consumer.stop()
    await csc.close()
    assert keys["command_setLogLevel"] == \
        b'{ "name": "Test", "index": 3, "topic": "command_setLogLevel" }'
    assert keys["logevent_heartbeat"] == \
        b'{ "name": "Test", "index": 3, "topic": "logevent_heartbeat" }'
    assert keys["ackcmd"] == b'{ "name": "Test", "index": 3, "topic": "ackcmd" }'
    dmcs_heartbeat = load_interface("DMCS").spec(TopicKind.EVENT, "heartbeat")
    assert message_key(dmcs_heartbeat, 0) == b'{ "name": "DMCS", "topic": "logevent_heartbeat" }'


async def test_readers_read_every_partition_and_filter_on_the_decoded_index(
    domain: Domain
) -> None:
    """A topic made by someone else with 3 partitions, and keys that lie about the index."""
    spec = TEST.spec(TopicKind.TELEMETRY, "scalars")
    topic = spec.kafka_topic(domain.subname)
    admin = AIOKafkaAdminClient(bootstrap_servers=domain.bootstrap_servers)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 3, 1)])
    await admin.close()
    await domain.ensure_topics([spec])
    prefix = header(domain.schema_id(spec))
    producer = AIOKafkaProducer(bootstrap_servers=domain.bootstrap_servers,
                                enable_idempotence=False)
    await producer.start()
    async with Remote(domain, TEST, 2, include=["scalars"]) as two:
        for partition, index in ((0, 1), (1, 2), (2, 2), (2, 1)):
            record = TEST.telemetry["scalars"](salIndex=index, int0=10 * partition + index)
            await producer.send_and_wait(topic, encode(spec.parsed_schema, prefix,
                                                       record.model_dump()),
                                         key=b"1", partition=partition)
        seen = {(await two.tel("scalars").next(flush=False, timeout=5)).int0 for _ in range(2)}
    await producer.stop()
    assert seen == {12, 22}


async def test_late_joiners_read_events_from_the_tail(
    domain: Domain, caplog: pytest.LogCaptureFixture
) -> None:
    """Garbage early in an event's log is never read by a late joiner: it starts at the end
    (for an indexed component, HISTORY_DEPTH records from it, newest per salIndex kept)."""
    spec = TEST.spec(TopicKind.EVENT, "scalars")
    await domain.ensure_topics([spec])
    producer = AIOKafkaProducer(bootstrap_servers=domain.bootstrap_servers,
                                enable_idempotence=False)
    await producer.start()
    for _ in range(20):
        await producer.send(spec.kafka_topic(domain.subname), b"garbage")
    await producer.flush()
    await producer.stop()
    controllers = [Controller(domain, TEST, i) for i in (1, 2)]
    for c in controllers:
        await c.start()
        for n in range(HISTORY_DEPTH // 2 + 1):
            await c.evt("scalars").set_write(string0=f"old {c.index} {n}")
    for c in controllers:
        await c.evt("scalars").set_write(string0=f"new {c.index}")
        await c.evt("scalars").flush()
    with caplog.at_level(logging.WARNING):
        async with Remote(domain, TEST, 0, include=["scalars"]) as everyone:
            seen = [(await everyone.evt("scalars").next(flush=False, timeout=5)).string0
                    for _ in range(2)]
            with pytest.raises(TimeoutError):
                await everyone.evt("scalars").next(flush=False, timeout=0.3)
    assert sorted(seen) == ["new 1", "new 2"]
    assert "malformed" not in caplog.text
    for c in controllers:
        await c.close()


async def test_malformed_commands_are_counted_and_skipped(
    domain: Domain, caplog: pytest.LogCaptureFixture
) -> None:
    csc = TestCsc(domain, 1)
    await csc.start()
    start = TEST.spec(TopicKind.COMMAND, "start")
    scalars = TEST.spec(TopicKind.TELEMETRY, "scalars")
    await domain.ensure_topics([start, scalars])
    producer = AIOKafkaProducer(bootstrap_servers=domain.bootstrap_servers,
                                enable_idempotence=False)
    await producer.start()
    topic = start.kafka_topic(domain.subname)
    with caplog.at_level(logging.WARNING):
        await producer.send_and_wait(topic, b"not avro at all")
        await producer.send_and_wait(topic, b"\x00\x00\x00\x00\x05junk")
        await producer.send_and_wait(topic, header(domain.schema_id(scalars)) + b"\x02\x04")
        await producer.send_and_wait(topic, header(domain.schema_id(start)) + b"\xff")
        async with Remote(domain, TEST, 1) as remote:
            ack = await remote.cmd("start").start()
    await producer.stop()
    assert AckCode(ack.ack) is AckCode.COMPLETE
    assert csc.controller.malformed_commands == 4
    assert "not Confluent wire format" in caplog.text
    assert caplog.text.count("skipped a malformed message") == 1, "logged once per topic"
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
