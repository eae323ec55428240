"""SASL/SCRAM-SHA-512 users with prefix ACLs, as the site runs them, and a TLS listener.

The session's secure cluster has the site's users for subname `sal` (see
`dmcs.kafka.site_users`): `sal` may use `lsst.sal.*`, `prompt-processing` only reads
nextVisit and writes the alert stream, `alert-reader` only reads the alert stream.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError

from dmcs.kafka import KafkaCluster, ServiceUser
from dmcs.kafka.login import KafkaLoginError, check_login
from dmcs.testing.kafka_fixtures import SECURE_ALERT_TOPIC
from tests.kafka.clients import consume, create_topic, end_offset, produce, topic_name

NEXT_VISIT = "lsst.sal.ScriptQueue.logevent_nextVisit"


@pytest.fixture(scope="module")
def topics(secure_kafka_cluster: KafkaCluster) -> dict[str, str]:
    """The topics the site's users are about: created once by the admin."""
    cluster = secure_kafka_cluster
    made = {"alerts": SECURE_ALERT_TOPIC, "next_visit": NEXT_VISIT}
    for name in made.values():
        asyncio.run(create_topic(cluster.bootstrap_servers, name, 3, cluster.client_options()))
    return made


def _failed_logins(cluster: KafkaCluster) -> int:
    return sum(node.log_path.read_text().count("Failed authentication") for node in cluster.nodes)


async def test_each_user_reaches_what_it_may(secure_kafka_cluster: KafkaCluster,
                                             topics: dict[str, str]) -> None:
    cluster = secure_kafka_cluster
    servers = cluster.bootstrap_servers
    sal_topic = topic_name("lsst.sal.Test.logevent_")
    await create_topic(servers, sal_topic, 3, cluster.client_options("sal"))  # CREATE on lsst.sal.*
    await produce(servers, sal_topic, [b"event"], cluster.client_options("sal"))
    assert await consume(servers, sal_topic, 1, cluster.client_options("sal")) == [b"event"]

    await produce(servers, topics["next_visit"], [b"visit 1"], cluster.client_options("sal"))
    assert await consume(servers, topics["next_visit"], 1,
                         cluster.client_options("prompt-processing")) == [b"visit 1"]
    await produce(servers, topics["alerts"], [b"alert"],
                  cluster.client_options("prompt-processing"))
    assert b"alert" in await consume(servers, topics["alerts"], 1,
                                     cluster.client_options("alert-reader"))


async def test_a_wrong_password_fails_at_once_naming_the_user_and_broker(
    secure_kafka_cluster: KafkaCluster,
) -> None:
    cluster = secure_kafka_cluster
    wrong: dict[str, Any] = {**cluster.client_options("sal"), "sasl_plain_password": "guess"}
    before = _failed_logins(cluster)
    began = time.monotonic()
    producer = AIOKafkaProducer(bootstrap_servers=cluster.bootstrap_servers, **wrong)
    with pytest.raises(KafkaConnectionError, match="Unable to bootstrap"):
        await producer.start()
    await producer.stop()
    assert time.monotonic() - began < 5.0
    # One refused login per bootstrap server, and no more: no retry storm.
    assert _failed_logins(cluster) - before == cluster.size

    first = cluster.nodes[0].bootstrap_servers
    with pytest.raises(KafkaLoginError) as refused:
        await check_login(cluster.bootstrap_servers, wrong)
    assert str(refused.value) == (
        f"the Kafka broker at {first} refused user 'sal': "
        "invalid credentials with SASL mechanism SCRAM-SHA-512")


async def test_the_right_password_logs_in(secure_kafka_cluster: KafkaCluster) -> None:
    await check_login(secure_kafka_cluster.bootstrap_servers,
                      secure_kafka_cluster.client_options("alert-reader"))


async def test_a_user_without_write_permission_is_refused_and_nothing_is_written(
    secure_kafka_cluster: KafkaCluster, topics: dict[str, str]
) -> None:
    cluster = secure_kafka_cluster
    command = topic_name("lsst.sal.Test.command_")
    await create_topic(cluster.bootstrap_servers, command, 3, cluster.client_options())
    with pytest.raises(TopicAuthorizationFailedError):
        await produce(cluster.bootstrap_servers, command, [b"setScalars"],
                      cluster.client_options("prompt-processing"))
    assert await end_offset(cluster.bootstrap_servers, command, cluster.client_options()) == 0


async def test_a_user_without_read_permission_cannot_read_the_alerts(
    secure_kafka_cluster: KafkaCluster, topics: dict[str, str]
) -> None:
    cluster = secure_kafka_cluster
    await produce(cluster.bootstrap_servers, topics["alerts"], [b"alert"],
                  cluster.client_options("prompt-processing"))
    with pytest.raises(TopicAuthorizationFailedError):
        await consume(cluster.bootstrap_servers, topics["alerts"], 1,
                      cluster.client_options("prompt-processing"))


async def test_a_user_added_while_running_gets_only_its_prefix(
    secure_kafka_cluster: KafkaCluster
) -> None:
    cluster = secure_kafka_cluster
    cluster.add_user(ServiceUser("night42", reads=("lsst.night42.*",),
                                 writes=("lsst.night42.*",), creates=("lsst.night42.*",)))
    mine, other = topic_name("lsst.night42.Test."), topic_name("lsst.sal.Test.")
    await create_topic(cluster.bootstrap_servers, mine, 3, cluster.client_options("night42"))
    await produce(cluster.bootstrap_servers, mine, [b"mine"], cluster.client_options("night42"))
    assert await consume(cluster.bootstrap_servers, mine, 1,
                         cluster.client_options("night42")) == [b"mine"]
    await create_topic(cluster.bootstrap_servers, other, 3, cluster.client_options())
    with pytest.raises(TopicAuthorizationFailedError):
        await produce(cluster.bootstrap_servers, other, [b"not mine"],
                      cluster.client_options("night42"))


async def test_the_tls_listener_serves_clients_that_trust_its_ca(
    secure_kafka_cluster: KafkaCluster, topics: dict[str, str]
) -> None:
    cluster = secure_kafka_cluster
    servers = cluster.tls_bootstrap_servers
    tls_topic = topic_name("lsst.sal.Test.logevent_")
    await create_topic(servers, tls_topic, 3, cluster.client_options("sal", tls=True))
    await produce(servers, tls_topic, [b"over TLS"], cluster.client_options("sal", tls=True))
    assert await consume(servers, tls_topic, 1,
                         cluster.client_options("sal", tls=True)) == [b"over TLS"]


async def test_the_tls_listener_is_refused_without_its_ca(secure_kafka_cluster: KafkaCluster
                                                          ) -> None:
    from aiokafka.helpers import create_ssl_context

    cluster = secure_kafka_cluster
    system_trust = {**cluster.client_options("sal", tls=True),
                    "ssl_context": create_ssl_context()}
    with pytest.raises(KafkaLoginError, match="certificate that the CA file does not vouch"):
        await check_login(cluster.tls_bootstrap_servers, system_trust)


async def test_a_users_environment_carries_its_credentials_by_ts_salobj_names(
    secure_kafka_cluster: KafkaCluster
) -> None:
    from aiokafka.helpers import create_ssl_context

    env = secure_kafka_cluster.client_env("efd", tls=True)
    assert env["LSST_KAFKA_SECURITY_USERNAME"] == "efd"
    options = {"security_protocol": env["LSST_KAFKA_SECURITY_PROTOCOL"],
               "sasl_mechanism": env["LSST_KAFKA_SECURITY_MECHANISM"],
               "sasl_plain_username": env["LSST_KAFKA_SECURITY_USERNAME"],
               "sasl_plain_password": env["LSST_KAFKA_SECURITY_PASSWORD"],
               "ssl_context": create_ssl_context(cafile=env["LSST_KAFKA_SSL_CAFILE"])}
    assert options["security_protocol"] == "SASL_SSL"
    await check_login(env["LSST_KAFKA_BROKER_ADDR"], options)


async def test_a_login_where_no_broker_answers_says_where_it_tried() -> None:
    from dmcs.ports import free_port

    nowhere = f"127.0.0.1:{free_port()}"
    with pytest.raises(KafkaConnectionError, match=f"no Kafka broker answered: {nowhere}: "):
        await check_login(nowhere, {"security_protocol": "SASL_PLAINTEXT",
                                    "sasl_mechanism": "SCRAM-SHA-512",
                                    "sasl_plain_username": "sal", "sasl_plain_password": "x"})
