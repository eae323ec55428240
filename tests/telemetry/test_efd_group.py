"""EFD writers in one consumer group, as the site runs Telegraf replicas: they share the topics,
one SIGKILLed mid-traffic is replaced by the other, a topic made later lands with one of them."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from efd_helpers import FAST, count_points, database_of, running_writer, wait_for_points
from traffic import Traffic

from dmcs.sal.config import SalConfig
from dmcs.sal.domain import Domain
from dmcs.sal.interface import TopicKind
from dmcs.sal.interfaces import TEST
from dmcs.telemetry.efd_client import EfdClient
from dmcs.telemetry.efd_writer import EfdWriterSettings, group_settings
from dmcs.telemetry.influx_server import InfluxServer
from dmcs.testing.processes import STARTUP_TIMEOUT, Cli, read_line

#: What the writers share: four topics (round robin gives each writer two).
SPECS = [TEST.spec(kind, name) for kind in (TopicKind.TELEMETRY, TopicKind.EVENT)
         for name in ("scalars", "arrays")]
#: The dead writer's partitions move once the coordinator has not heard from it this long
#: (`dmcs efd write` keeps the default).
SESSION_MS = EfdWriterSettings().session_timeout_ms
#: Beyond it: the survivor's next heartbeat (a third of its session timeout), its rejoin, and
#: a busy machine.
REBALANCE_SLACK_S = 15.0


def in_group(subname: str) -> EfdWriterSettings:
    return replace(FAST, **group_settings(f"efd-{subname}"))


async def until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until `condition()` held; AssertionError naming `what` after `timeout`."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not condition():
        assert loop.time() - start < timeout, f"{what} not within {timeout} s"
        await asyncio.sleep(0.05)
    return loop.time() - start


@pytest.fixture
def writer_process(cli: Cli, sal_config: SalConfig, influx: InfluxServer,
                   tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """`dmcs efd write --group ...` in its own process, as a deployment runs a replica."""
    log = (tmp_path / "efd-write.log").open("w")
    proc = cli.popen("efd", "write", "--group", f"efd-{sal_config.subname}",
                     "--efd", influx.url, "--db", database_of(sal_config),
                     stdout=subprocess.PIPE, stderr=log)
    try:
        banner = read_line(proc.stdout, STARTUP_TIMEOUT)
        assert "in consumer group" in banner, banner
        yield proc
    finally:
        proc.kill()
        proc.wait()
        log.close()
        assert proc.stdout is not None
        proc.stdout.close()


async def send_each(traffics: list[Traffic], rounds: int) -> None:
    for _ in range(rounds):
        for traffic in traffics:
            await traffic.send()


async def test_two_writers_share_the_topics_and_one_takes_over_when_the_other_is_killed(
    sal_config: SalConfig, influx: InfluxServer, domain: Domain, efd: EfdClient,
    writer_process: subprocess.Popen[str],
) -> None:
    traffics = [await Traffic(domain, spec).start() for spec in SPECS]
    topics = {t.topic for t in traffics}
    async with running_writer(sal_config, influx.url, in_group(sal_config.subname)) as ours:
        await until(lambda: 0 < len(ours.topics) < len(topics) and ours.topics <= topics, 60,
                    "the group sharing the topics between the two writers")
        mine = set(ours.topics)
        await send_each(traffics, 50)
        for traffic in traffics:
            assert await wait_for_points(efd, traffic.measurement, 50) == 50
        # each message read (and written) by one writer: ours read only its own topics
        assert ours.health.messages == 50 * len(mine)
        theirs_before_kill = 50 * (len(topics) - len(mine))

        stop = asyncio.Event()
        senders = asyncio.create_task(_send_until(traffics, stop))
        try:
            await asyncio.sleep(1.0)
            writer_process.kill()  # SIGKILL mid-traffic: no commit, no goodbye to the group
            takeover = await until(lambda: ours.topics == topics,
                                   SESSION_MS / 1000 + REBALANCE_SLACK_S,
                                   "the other writer taking over the dead one's topics")
            await asyncio.sleep(1.0)
        finally:
            stop.set()
            await senders
        print(f"takeover {takeover:.1f} s after SIGKILL (session timeout {SESSION_MS} ms)")
        for traffic in traffics:
            assert await wait_for_points(efd, traffic.measurement, traffic.sent,
                                         timeout=30) == traffic.sent
        await asyncio.sleep(0.5)
        counts = [await count_points(efd, t.measurement) for t in traffics]
        assert counts == [t.sent for t in traffics]  # at least once, and nothing doubled
        # ours re-read (and re-wrote) points the dead writer had already written, from its last
        # commit minus the replay margin: the same points, so the counts above did not grow
        sent_mine = sum(t.sent for t in traffics if t.topic in mine)
        sent_theirs = sum(t.sent for t in traffics if t.topic not in mine)
        read_of_theirs = ours.health.messages - sent_mine
        assert read_of_theirs > sent_theirs - theirs_before_kill


async def _send_until(traffics: list[Traffic], stop: asyncio.Event) -> None:
    """About 40 messages a second to each topic."""
    while not stop.is_set():
        await send_each(traffics, 1)
        await asyncio.sleep(0.025)


async def test_a_topic_made_later_lands_with_one_writer_of_the_group(
    sal_config: SalConfig, influx: InfluxServer, domain: Domain, efd: EfdClient,
) -> None:
    first_topics = [await Traffic(domain, spec).start() for spec in SPECS[:2]]
    settings = in_group(sal_config.subname)
    async with running_writer(sal_config, influx.url, settings) as one, \
            running_writer(sal_config, influx.url, settings) as two:
        await until(lambda: len(one.topics) == len(two.topics) == 1, 60,
                    "the group sharing two topics between two writers")
        late = await Traffic(domain, SPECS[2]).start()
        for _ in range(5):
            await late.send()
        assert await wait_for_points(efd, late.measurement, 5, timeout=20) == 5
        assert [late.topic in w.topics for w in (one, two)].count(True) == 1
        await send_each(first_topics, 3)
        for traffic in first_topics:
            assert await wait_for_points(efd, traffic.measurement, 3) == 3
        assert one.health.messages + two.health.messages == 5 + 3 * 2
