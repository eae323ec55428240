"""A ts_salobj-style peer made of confluent-kafka alone and dmcs command each other.

The peer (see `salobj_peer`) walks a dmcs Test CSC through its states and sends `setScalars`,
getting every ack; a dmcs Remote does the same to the peer acting as a CSC. Nothing the peer
uses comes from dmcs: its schemas are ts_xml's by ts_salobj's rules, registered through
confluent-kafka's registry client in `dmcs registry`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from salobj_peer import COMPLETE, SalobjPeer

from dmcs.csc.test_csc import TestCsc
from dmcs.sal.ack import AckCode
from dmcs.sal.broker import BrokerProcess
from dmcs.sal.config import SalConfig
from dmcs.sal.domain import Domain, default_identity
from dmcs.sal.interfaces import TEST
from dmcs.sal.remote import Remote
from dmcs.state_machines.summary_state import State
from dmcs.testing import wait_for_sample

STATE_AFTER = {"start": State.DISABLED, "enable": State.ENABLED, "disable": State.DISABLED,
               "standby": State.STANDBY}


@pytest.fixture
def peer(sal_config: SalConfig, broker: BrokerProcess) -> Iterator[SalobjPeer]:
    assert sal_config.bootstrap_servers and sal_config.schema_registry_url
    one = SalobjPeer(sal_config.bootstrap_servers, sal_config.schema_registry_url,
                     sal_config.subname, "Test", 1, default_identity(),
                     tansu=broker.kind == "tansu")
    yield one
    one.close()


async def _command(peer: SalobjPeer, name: str, fields: dict[str, Any]) -> dict[str, Any]:
    seq = await asyncio.to_thread(peer.write, f"command_{name}", fields)
    return await asyncio.to_thread(
        peer.wait_for, peer.topic("ackcmd"),
        lambda a: a["private_seqNum"] == seq and a["identity"] == peer.identity
        and a["ack"] in (COMPLETE, -302, -300, -303, -304))


async def test_a_salobj_peer_commands_a_dmcs_csc(domain: Domain, peer: SalobjPeer) -> None:
    csc = TestCsc(domain, 1)
    await csc.start(claim_seconds=0.2)
    try:
        peer.read({peer.topic("ackcmd"): False, peer.topic("logevent_summaryState"): True,
                   peer.topic("logevent_scalars"): True})
        assert await asyncio.to_thread(peer.assigned.wait, 60)
        standby = await asyncio.to_thread(peer.wait_for, peer.topic("logevent_summaryState"),
                                          lambda s: s["summaryState"] == State.STANDBY)
        assert standby["private_identity"] == "Test:1"
        for name in ("start", "enable"):
            fields = {"configurationOverride": ""} if name == "start" else {}
            ack = await _command(peer, name, fields)
            assert ack["ack"] == COMPLETE, ack
            assert csc.summary_state == STATE_AFTER[name]
        ack = await _command(peer, "setScalars", {
            "boolean0": True, "byte0": 7, "short0": -3, "int0": 42, "long0": 5,
            "longLong0": 2**40, "unsignedShort0": 9, "unsignedInt0": 2**32 - 1,
            "float0": 0.5, "double0": 2.5, "string0": "from salobj"})
        assert ack["ack"] == COMPLETE, ack
        echoed = await asyncio.to_thread(peer.wait_for, peer.topic("logevent_scalars"),
                                         lambda s: s["string0"] == "from salobj")
        assert (echoed["longLong0"], echoed["unsignedInt0"]) == (2**40, 2**32 - 1)
        refused = await _command(peer, "enable", {})
        assert refused["ack"] == AckCode.FAILED and refused["error"] == 1
        for name in ("disable", "standby"):
            assert (await _command(peer, name, {}))["ack"] == COMPLETE
        assert csc.summary_state == State.STANDBY
    finally:
        await csc.close()


async def test_a_dmcs_remote_commands_a_salobj_peer(domain: Domain, sal_config: SalConfig,
                                                   broker: BrokerProcess) -> None:
    assert sal_config.bootstrap_servers and sal_config.schema_registry_url
    peer = SalobjPeer(sal_config.bootstrap_servers, sal_config.schema_registry_url,
                      sal_config.subname, "Test", 2, "Test:2", tansu=broker.kind == "tansu")
    state = {"now": State.STANDBY}

    def answer(command: str) -> Any:
        def handle(sample: dict[str, Any]) -> None:
            if sample["salIndex"] != 2:
                return
            if command in STATE_AFTER:
                state["now"] = STATE_AFTER[command]
                peer.write("logevent_summaryState", {"summaryState": int(state["now"])})
            peer.write("ackcmd", {"ack": COMPLETE, "error": 0, "result": "Done",
                                  "identity": sample["private_identity"],
                                  "origin": sample["private_origin"], "cmdtype": 0,
                                  "timeout": 0.0},
                       seq_num=sample["private_seqNum"])
        return handle

    commands = ["start", "enable", "setScalars", "disable", "standby"]
    try:
        peer.read({peer.topic(f"command_{c}"): False for c in commands},
                  {peer.topic(f"command_{c}"): answer(c) for c in commands})
        assert await asyncio.to_thread(peer.assigned.wait, 60)
        peer.write("logevent_summaryState", {"summaryState": int(State.STANDBY)})
        peer.beat()
        async with Remote(domain, TEST, 2, include=["summaryState"]) as remote:
            await wait_for_sample(remote.evt("summaryState"), summaryState=State.STANDBY)
            for name in commands:
                fields = {"int0": 3, "string0": "from dmcs"} if name == "setScalars" else {}
                ack = await remote.cmd(name).start(timeout=20, **fields)
                assert AckCode(ack.ack) is AckCode.COMPLETE
            await wait_for_sample(remote.evt("summaryState"), summaryState=State.STANDBY)
        received = peer.received[peer.topic("command_setScalars")][-1]
        assert (received["int0"], received["string0"]) == (3, "from dmcs")
        assert received["private_identity"] == domain.identity
    finally:
        peer.close()
