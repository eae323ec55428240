"""`dmcs registry` as clients we did not write see it: confluent-kafka's SchemaRegistryClient
and its Avro serdes, raw HTTP for the error bodies, a restarted registry and two racing ones.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from fastavro import parse_schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dmcs.cli.errors import ExitCode
from dmcs.sal.broker import BrokerProcess, free_port
from dmcs.sal.codec import decode_body, encode, header, schema_id
from dmcs.sal.config import SalConfig
from dmcs.sal.controller import Controller
from dmcs.sal.domain import Domain
from dmcs.sal.interface import TopicKind
from dmcs.sal.interfaces import TEST
from dmcs.sal.registry.client import RegistryClient, SchemaRefusedError
from dmcs.sal.registry.process import (
    RegistryProcess,
    spawn_registry,
    start_private_registry,
    wait_answering,
)
from dmcs.sal.remote import Remote
from dmcs.testing import unique_subname

SCALARS = TEST.spec(TopicKind.TELEMETRY, "scalars")
DMCS = str(Path(sys.executable).parent / "dmcs")
CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


def subject(name: str = "scalars") -> str:
    return f"lsst.{unique_subname()}.Test.{name}-value"


def http(url: str, method: str = "GET", body: Any = None) -> tuple[int, Any, str]:
    """(status, decoded JSON, content type) of one request, errors included."""
    data = None if body is None else (body if isinstance(body, bytes)
                                      else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": CONTENT_TYPE})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read()), response.headers["Content-Type"]
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read()), err.headers["Content-Type"]


@pytest.fixture
def client(registry: RegistryProcess) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": registry.url})


def with_extra_field(text: str, name: str = "extra0", kind: str = "double",
                     default: Any = 0.0) -> str:
    schema = json.loads(text)
    schema["fields"].append({"name": name, "type": kind, "default": default,
                             "description": "added", "units": "unitless"})
    return json.dumps(schema)


def test_register_look_up_and_fetch_with_confluent_kafka(client: SchemaRegistryClient) -> None:
    name = subject()
    sid = client.register_schema(name, Schema(SCALARS.schema_text, "AVRO"))
    assert client.register_schema(name, Schema(SCALARS.schema_text, "AVRO")) == sid
    assert json.loads(client.get_schema(sid).schema_str) == SCALARS.schema
    found = client.lookup_schema(name, Schema(SCALARS.schema_text, "AVRO"))
    assert (found.schema_id, found.version, found.subject) == (sid, 1, name)
    assert name in client.get_subjects()
    assert client.get_versions(name) == [1]
    latest = client.get_latest_version(name)
    assert (latest.schema_id, latest.version) == (sid, 1)
    assert client.get_version(name, 1).schema_id == sid


def test_the_same_schema_has_one_id_in_every_subject(client: SchemaRegistryClient) -> None:
    first = client.register_schema(subject(), Schema(SCALARS.schema_text, "AVRO"))
    spaced = json.dumps(SCALARS.schema, indent=2)  # the same schema, written otherwise
    assert client.register_schema(subject(), Schema(spaced, "AVRO")) == first


def test_backward_compatible_versions_and_an_incompatible_one(
    client: SchemaRegistryClient,
) -> None:
    name = subject()
    client.register_schema(name, Schema(SCALARS.schema_text, "AVRO"))
    newer = with_extra_field(SCALARS.schema_text)
    assert client.test_compatibility(name, Schema(newer, "AVRO"))
    second = client.register_schema(name, Schema(newer, "AVRO"))
    assert client.get_versions(name) == [1, 2]
    assert client.get_latest_version(name).schema_id == second
    no_default = json.loads(newer)
    no_default["fields"][-1] = {"name": "extra1", "type": "string"}  # no default: unreadable
    with pytest.raises(SchemaRegistryError) as refused:
        client.register_schema(name, Schema(json.dumps(no_default), "AVRO"))
    assert refused.value.http_status_code == 409
    assert "extra1" in refused.value.error_message
    assert not client.test_compatibility(name, Schema(json.dumps(no_default), "AVRO"))
    client.set_compatibility(name, "NONE")
    assert client.get_compatibility(name) == "NONE"
    client.register_schema(name, Schema(json.dumps(no_default), "AVRO"))
    assert client.get_versions(name) == [1, 2, 3]


def test_delete_a_subject(client: SchemaRegistryClient) -> None:
    name = subject()
    client.register_schema(name, Schema(SCALARS.schema_text, "AVRO"))
    assert client.delete_subject(name) == [1]
    assert name not in client.get_subjects()
    with pytest.raises(SchemaRegistryError) as missing:
        client.get_latest_version(name)
    assert missing.value.error_code == 40401


@pytest.mark.parametrize(("path", "method", "body", "status", "code"), [
    ("/subjects/nowhere-value/versions/latest", "GET", None, 404, 40401),
    ("/schemas/ids/7", "GET", None, 404, 40403),
    ("/schemas/ids/notanumber", "GET", None, 404, 40403),
    ("/subjects/x-value/versions", "POST", {"schema": "not json"}, 422, 42201),
    ("/subjects/x-value/versions", "POST", {"schema": '{"type": "recrd"}'}, 422, 42201),
    ("/subjects/x-value/versions", "POST", {"schema": 5}, 422, 42201),
    ("/subjects/x-value/versions", "POST", {"schema": "{}", "schemaType": "PROTOBUF"}, 422,
     42201),
    ("/subjects/x-value/versions", "POST", b"\xff\xfe not json", 422, 42201),
    ("/subjects/x-value/versions", "POST", [1, 2], 422, 42201),
    ("/config", "PUT", {"compatibility": "SOMETIMES"}, 422, 42203),
    ("/no/such/route", "GET", None, 404, 404),
])
def test_errors_are_confluent_s(registry: RegistryProcess, path: str, method: str, body: Any,
                                status: int, code: int) -> None:
    got, answer, content_type = http(registry.url + path, method, body)
    assert (got, answer["error_code"]) == (status, code), answer
    assert answer["message"]
    assert content_type.startswith(CONTENT_TYPE)


def test_a_bad_version_is_42202(registry: RegistryProcess, client: SchemaRegistryClient) -> None:
    name = subject()
    client.register_schema(name, Schema(SCALARS.schema_text, "AVRO"))
    got, answer, _ = http(f"{registry.url}/subjects/{name}/versions/zero")
    assert (got, answer["error_code"]) == (422, 42202)
    got, answer, _ = http(f"{registry.url}/subjects/{name}/versions/9")
    assert (got, answer["error_code"]) == (404, 40402)


def test_associations_answer_404_so_serdes_fall_back(registry: RegistryProcess) -> None:
    got, answer, _ = http(f"{registry.url}/associations/resources/-/lsst.sal.Test.scalars"
                          "?resourceType=topic&associationType=value")
    assert got == 404 and answer["error_code"] == 40404


def test_an_asked_for_id_is_given_or_refused(client: SchemaRegistryClient,
                                             registry: RegistryProcess) -> None:
    alert = json.dumps({"type": "record", "name": "alert", "namespace": "lsst.test",
                        "fields": [{"name": "diaSourceId", "type": "long"}]})
    got, answer, _ = http(f"{registry.url}/subjects/{subject('alerts')}/versions", "POST",
                          {"schema": alert, "id": 1101})
    assert (got, answer["id"]) == (200, 1101)
    other = json.dumps({"type": "record", "name": "other", "fields": []})
    got, answer, _ = http(f"{registry.url}/subjects/{subject('other')}/versions", "POST",
                          {"schema": other, "id": 1101})
    assert got == 422 and "1101 is taken" in answer["message"]
    assert json.loads(client.get_schema(1101).schema_str)["name"] == "alert"


def test_confluent_serdes_and_dmcs_s_codec_read_each_other(
    client: SchemaRegistryClient,
) -> None:
    topic = subject().removesuffix("-value")
    context = SerializationContext(topic, MessageField.VALUE)
    serializer = AvroSerializer(client, SCALARS.schema_text)
    record = SCALARS.model(salIndex=2, int0=7, string0="from confluent").model_dump()
    framed = serializer(record, context)
    assert framed is not None and framed[0] == 0
    decoded = decode_body(framed, SCALARS.parsed_schema)
    assert (decoded["int0"], decoded["string0"]) == (7, "from confluent")
    ours = encode(SCALARS.parsed_schema, header(schema_id(framed)),
                  {**record, "string0": "from dmcs"})
    assert AvroDeserializer(client)(ours, context)["string0"] == "from dmcs"


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(
    st.binary(max_size=200),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                 lambda inner: st.lists(inner, max_size=4) |
                 st.dictionaries(st.sampled_from(["schema", "id", "schemaType", "x"]), inner,
                                 max_size=4), max_leaves=10).map(lambda v: json.dumps(v).encode()),
), path=st.sampled_from(["/subjects/f-value/versions", "/subjects/f-value",
                         "/compatibility/subjects/f-value/versions/latest"]))
def test_fuzzed_requests_get_4xx_never_5xx(registry: RegistryProcess, body: bytes,
                                           path: str) -> None:
    got, answer, _ = http(registry.url + path, "POST", body)
    assert got < 500, answer
    if got >= 400:
        assert isinstance(answer.get("error_code"), int) and answer.get("message")


def test_a_restarted_registry_and_a_second_one_give_the_same_ids(
    broker: BrokerProcess, tmp_path: Path,
) -> None:
    names = [subject(f"topic{i}") for i in range(5)]
    texts = [with_extra_field(SCALARS.schema_text, f"f{i}") for i in range(5)]
    with start_private_registry(broker.bootstrap_servers, tmp_path) as first:
        one = SchemaRegistryClient({"url": first.url})
        ids = [one.register_schema(n, Schema(t, "AVRO")) for n, t in zip(names, texts,
                                                                          strict=True)]
    with start_private_registry(broker.bootstrap_servers, tmp_path) as again, \
            start_private_registry(broker.bootstrap_servers, tmp_path) as second:
        for url in (again.url, second.url):
            other = SchemaRegistryClient({"url": url})
            assert [other.get_latest_version(n).schema_id for n in names] == ids
            assert [other.register_schema(n, Schema(t, "AVRO"))
                    for n, t in zip(names, texts, strict=True)] == ids


async def test_two_registries_racing_on_one_subject_agree(
    broker: BrokerProcess, tmp_path: Path,
) -> None:
    """Registrations of one subject at once through two registries: one version each schema,
    the same ids from both, whichever won each race."""
    name = subject()
    texts = [with_extra_field(SCALARS.schema_text, f"g{i}") for i in range(6)]
    with start_private_registry(broker.bootstrap_servers, tmp_path) as a, \
            start_private_registry(broker.bootstrap_servers, tmp_path) as b:
        async with RegistryClient(a.url) as left, RegistryClient(b.url) as right:
            await left.register(name, SCALARS.schema_text)
            http(f"{a.url}/config/{name}", "PUT", {"compatibility": "NONE"})
            got = await asyncio.gather(*(client.register(name, text)
                                         for text in texts for client in (left, right)))
        ids_left, ids_right = got[0::2], got[1::2]
        assert ids_left == ids_right
        _, versions, _ = http(f"{a.url}/subjects/{name}/versions")
        assert versions == list(range(1, 8))
        assert http(f"{b.url}/subjects/{name}/versions")[1] == versions


async def test_a_refused_schema_stops_a_topic_with_one_line(registry: RegistryProcess) -> None:
    name = subject()
    async with RegistryClient(registry.url) as registry_client:
        await registry_client.register(name, SCALARS.schema_text)
        changed = json.loads(SCALARS.schema_text)
        for field in changed["fields"]:
            if field["name"] == "int0":
                field["type"], field["default"] = "string", ""
        with pytest.raises(SchemaRefusedError) as refused:
            await registry_client.register(name, json.dumps(changed))
    assert refused.value.status == 409
    assert "int0" in str(refused.value) and "\n" not in str(refused.value)


def test_a_registry_away_at_start_is_one_line_naming_it(tmp_path: Path,
                                                        broker: BrokerProcess) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, "LSST_KAFKA_BROKER_ADDR": broker.bootstrap_servers,
           "LSST_SCHEMA_REGISTRY_URL": dead, "DMCS_BROKER_KIND": broker.kind,
           "DMCS_REGISTRY_RETRY_S": "2", "LSST_TOPIC_SUBNAME": unique_subname(),
           "DMCS_HOME": str(tmp_path)}
    began = time.monotonic()
    result = subprocess.run([DMCS, "run", "Test", "--index", "1"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == ExitCode.BROKER, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and dead in errors[0] and "unreachable" in errors[0], result.stderr
    assert result.stderr.count("does not answer") <= 1, "one note of the retries, no storm"
    assert time.monotonic() - began < 60


def test_dmcs_registry_serves_in_the_foreground(broker: BrokerProcess) -> None:
    port = free_port()
    env = {**os.environ, "LSST_KAFKA_BROKER_ADDR": broker.bootstrap_servers}
    proc = subprocess.Popen([DMCS, "registry", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert f"schema registry at http://127.0.0.1:{port}" in proc.stdout.readline()
        one = SchemaRegistryClient({"url": f"http://127.0.0.1:{port}"})
        assert one.register_schema(subject(), Schema(SCALARS.schema_text, "AVRO")) > 0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""


async def test_a_registry_lost_later_costs_known_ids_nothing_and_new_ones_wait(
    broker: BrokerProcess, tmp_path: Path,
) -> None:
    """Known ids keep working with the registry gone; a sample of a schema first seen while it
    is gone waits (its partition paused) and arrives once the registry is back: none lost."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "registry.log"
    registry_proc = spawn_registry(broker.bootstrap_servers, port, log_path)
    wait_answering(url, registry_proc, log_path)
    config = SalConfig(bootstrap_servers=broker.bootstrap_servers, subname=unique_subname(),
                       schema_registry_url=url, broker_kind=broker.kind)
    newer = json.loads(with_extra_field(SCALARS.schema_text))
    try:
        async with Domain(config) as writer, Domain(config) as reader:
            controller = Controller(writer, TEST, 1)
            await controller.start()
            async with Remote(reader, TEST, 1, include=["scalars"]) as remote:
                tel = remote.tel("scalars")
                await controller.tel("scalars").set_write(int0=1)
                assert (await tel.next(flush=False, timeout=10)).int0 == 1
                async with RegistryClient(url) as side:  # a newer writer's id, seen by none
                    newer_id = await side.register(
                        SCALARS.subject(config.subname), json.dumps(newer))
                registry_proc.terminate()
                registry_proc.wait(10)
                await controller.tel("scalars").set_write(int0=2)
                assert (await tel.next(flush=False, timeout=10)).int0 == 2
                raw = encode(parse_schema(newer), header(newer_id),
                             {**SCALARS.model(salIndex=1, int0=3).model_dump(), "extra0": 1.0})
                await writer.producer_for(TopicKind.TELEMETRY).send_and_wait(
                    SCALARS.kafka_topic(config.subname), raw, key=b"")
                await controller.tel("scalars").set_write(int0=4)
                with pytest.raises(TimeoutError):
                    await tel.next(flush=False, timeout=3)  # waiting for schema newer_id
                registry_proc = spawn_registry(broker.bootstrap_servers, port, log_path)
                wait_answering(url, registry_proc, log_path)
                got = [(await tel.next(flush=False, timeout=20)).int0 for _ in range(2)]
                assert got == [3, 4]
            await controller.close()
    finally:
        registry_proc.terminate()
        registry_proc.wait(10)
