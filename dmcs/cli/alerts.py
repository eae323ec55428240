"""`dmcs alerts`: the alert stream as a broker sees it: watch it, filter it, replay a night.

Every verb talks to Kafka and the Schema Registry with confluent-kafka, as a community
broker would; the topic defaults to the stream prompt processing writes
(``lsst-alerts-v11``, with a test subname appended when one is set).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from confluent_kafka import KafkaException
from rich.console import Console
from rich.table import Table

from dmcs.cli.errors import CliError, ExitCode, one_line_errors
from dmcs.cli.options import BrokerOption, RegistryOption, SubnameOption, sal_config

app = typer.Typer(no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)

TopicArgument = Annotated[
    str | None,
    typer.Argument(help="Alert topic. Default: the stream's, lsst-alerts-v11[.<subname>]."),
]
IdleOption = Annotated[
    float | None,
    typer.Option("--idle", min=0.1, help="With --follow, stop after this many seconds "
                 "without an alert."),
]
FollowOption = Annotated[
    bool, typer.Option("--follow/--no-follow", help="Go on reading as alerts arrive.")
]
WATCH_COLUMNS = (
    ("diaSourceId", ("diaSourceId",)), ("visit", ("diaSource", "visit")),
    ("detector", ("diaSource", "detector")), ("ra", ("diaSource", "ra")),
    ("dec", ("diaSource", "dec")), ("psfFlux nJy", ("diaSource", "psfFlux")),
    ("snr", ("diaSource", "snr")), ("diaObjectId", ("diaObject", "diaObjectId")),
    ("nDiaSources", ("diaObject", "nDiaSources")), ("history", ("prvDiaSources",)),
)


@contextmanager
def _connection(broker: str | None, registry: str | None, subname: str | None,
                topic: str | None) -> Iterator[tuple[str, str, str, dict[str, str]]]:
    """(bootstrap servers, registry URL, topic, librdkafka security) from flags and env."""
    from dmcs.alerts.broker_consumer import librdkafka_security
    from dmcs.sal.broker import ensure_embedded_broker
    from dmcs.sal.registry.process import ensure_embedded_registry
    from dmcs.services.prompt_processing.alert_stream import default_alert_topic

    config = sal_config(broker, subname, registry)
    bootstrap = config.bootstrap_servers or ensure_embedded_broker().bootstrap_servers
    registry_url = config.schema_registry_url or ensure_embedded_registry(bootstrap).url
    try:
        yield (bootstrap, registry_url, topic or default_alert_topic(config.subname),
               librdkafka_security(config.security))
    except KafkaException as err:
        raise CliError(f"Kafka broker problem: {err}", ExitCode.BROKER) from None


def _value(packet: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = packet
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return len(value) if isinstance(value, list) else value


def _summary(packet: dict[str, Any]) -> dict[str, Any]:
    return {name: _value(packet, path) for name, path in WATCH_COLUMNS}


@app.command()
def watch(
    topic: TopicArgument = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per alert.")] = False,
    count: Annotated[int | None, typer.Option("--count", min=1,
                                              help="Stop after this many alerts.")] = None,
    follow: FollowOption = False,
    idle: IdleOption = None,
    broker: BrokerOption = None,
    registry: RegistryOption = None,
    subname: SubnameOption = None,
) -> None:
    """Print the stream's alerts (from its beginning) as a table, or as JSON lines."""
    from dmcs.alerts.broker_consumer import BrokerConsumer

    with one_line_errors(), _connection(broker, registry, subname, topic) as (
            bootstrap, registry_url, name, security):
        consumer = BrokerConsumer(bootstrap, registry_url, name, security)
        rows = []
        seen = 0
        try:
            for alert in consumer.alerts(follow, idle):
                summary = _summary(alert.packet)
                seen += 1
                if as_json:
                    console.print(json.dumps(summary), highlight=False)
                else:
                    rows.append(summary)
                if count is not None and seen >= count:
                    break
        finally:
            consumer.close()
        if not as_json:
            table = Table(title=f"{name}: {len(rows)} alerts, {consumer.malformed} malformed")
            for column, _ in WATCH_COLUMNS:
                table.add_column(column, justify="right")
            for row in rows:
                table.add_row(*(f"{v:.5f}" if isinstance(v, float) else str(v)
                                for v in row.values()))
            console.print(table)


@app.command(name="filter")
def filter_alerts(
    name: Annotated[str, typer.Argument(help="The filter's name (in its log and summary).")],
    where: Annotated[str, typer.Option("--where", help="Expression over packet fields, e.g. "
                                       "'diaSource.snr > 20 and diaObject.nDiaSources >= 3'.")],
    to: Annotated[str, typer.Option("--to", help="Topic the matching alerts go to.")],
    source: Annotated[str | None, typer.Option("--from", help="Alert topic read. Default: "
                                               "the stream's.")] = None,
    follow: FollowOption = False,
    idle: IdleOption = None,
    broker: BrokerOption = None,
    registry: RegistryOption = None,
    subname: SubnameOption = None,
) -> None:
    """Run a filter over the stream and publish its matches, re-framed, to --to."""
    from dmcs.alerts.broker_consumer import BrokerConsumer
    from dmcs.alerts.expression import AlertFilter, FilterError
    from dmcs.alerts.filter_run import run_filter
    from dmcs.alerts.publisher import AlertPublisher, PublishError

    logging.basicConfig(level=logging.WARNING, format=f"{name}: %(message)s")
    with one_line_errors():
        try:
            alert_filter = AlertFilter(where)
        except FilterError as err:
            raise CliError(str(err)) from None
        with _connection(broker, registry, subname, source) as (
                bootstrap, registry_url, topic, security):
            consumer = BrokerConsumer(bootstrap, registry_url, topic, security)
            try:
                publisher = AlertPublisher(bootstrap, registry_url, to, security)
                counts = run_filter(consumer, alert_filter, publisher, follow=follow,
                                    idle_s=idle)
            except PublishError as err:
                raise CliError(str(err), ExitCode.BROKER) from None
            finally:
                consumer.close()
        console.print(json.dumps({"filter": name, "from": topic, "to": to,
                                  **counts.as_dict()}))


@app.command()
def replay(
    paths: Annotated[list[Path], typer.Argument(help="Alert files (.avro) of a night.")],
    to: Annotated[str, typer.Option("--to", help="Topic to send them to.")],
    rate: Annotated[float | None, typer.Option("--rate", min=0.001, metavar="N/s",
                                               help="At most N alerts per second.")] = None,
    broker: BrokerOption = None,
    registry: RegistryOption = None,
    subname: SubnameOption = None,
) -> None:
    """Send a night's saved alerts again, as the stream sent them (the offline mini broker)."""
    from dmcs.alerts.publisher import AlertPublisher, PublishError
    from dmcs.alerts.replay import ReplayError
    from dmcs.alerts.replay import replay as send_again

    with one_line_errors(), _connection(broker, registry, subname, to) as (
            bootstrap, registry_url, topic, security):
        try:
            sent = send_again(paths, AlertPublisher(bootstrap, registry_url, topic, security),
                              rate)
        except ReplayError as err:
            raise CliError(str(err)) from None
        except PublishError as err:
            raise CliError(str(err), ExitCode.BROKER) from None
        console.print(json.dumps({"to": topic, "sent": sent}))
