"""Turning a topic's records into samples of its model: the writer's schema by registry id,
resolved against ours, with a malformed record logged (once per topic), counted and skipped.
"""

from __future__ import annotations

import logging

from aiokafka.structs import ConsumerRecord

from dmcs import metrics
from dmcs.sal.codec import DecodeError, decode_body, schema_id
from dmcs.sal.interface import TopicSpec
from dmcs.sal.registry.client import RegistryClient, RegistryError, UnknownSchemaError
from dmcs.sal.sample import SalSample
from dmcs.sal.tai import current_tai

log = logging.getLogger(__name__)


class SchemaPending(Exception):
    """The record's writer schema is not fetched yet: `await decoder.fetch(schema_id)`."""

    def __init__(self, schema_id: int) -> None:
        super().__init__(schema_id)
        self.schema_id = schema_id


class TopicDecoder:
    """Decodes one topic for the readers of one process.

    Records written with our own schema (the usual case) decode with no resolution; others
    use the writer's schema, fetched once by id, so a newer writer's extra fields are dropped
    and a field it lacks takes its default.
    """

    def __init__(self, spec: TopicSpec, kafka_topic: str, registry: RegistryClient,
                 own_id: int | None) -> None:
        self.spec = spec
        self.kafka_topic = kafka_topic
        self.registry = registry
        self.own_id = own_id
        self.malformed = 0
        self._unknown_ids: set[int] = set()
        self._logged = False
        self._received = metrics.MESSAGES.labels(kafka_topic, "in")
        self._errors = metrics.DECODE_ERRORS.labels(kafka_topic)
        #: Samples for an index none of the process's readers of the topic reads.
        self.other_index = metrics.SKIPPED.labels(kafka_topic, "other_index")

    def decode(self, record: ConsumerRecord[bytes, bytes]) -> SalSample | None:
        """The sample, None if malformed (logged once, counted), or raise SchemaPending."""
        self._received.inc()
        raw = record.value
        try:
            writer_id = schema_id(raw)
            assert raw is not None
            if writer_id == self.own_id:
                data = decode_body(raw, self.spec.parsed_schema)
            else:
                writer = self.registry.known_parsed_schema(writer_id)
                if writer is None:
                    if writer_id in self._unknown_ids:
                        raise DecodeError(f"schema id {writer_id} is not in the registry")
                    raise SchemaPending(writer_id)
                data = decode_body(raw, writer, self.spec.parsed_schema)
        except DecodeError as err:
            self.skip(record.offset, str(err))
            return None
        data["private_rcvStamp"] = current_tai()
        return self.spec.model.model_construct(**data)

    async def fetch(self, writer_id: int) -> bool:
        """Fetch a writer schema; False (and its records skipped from now on) if the registry
        has no such id. Raises RegistryError while the registry cannot be reached."""
        try:
            await self.registry.parsed_schema(writer_id)
        except UnknownSchemaError:
            self._unknown_ids.add(writer_id)
            return False
        except RegistryError:
            raise
        except (ValueError, TypeError, KeyError) as err:  # the registry holds a bad schema
            log.warning("%s: schema id %d cannot be parsed: %s", self.kafka_topic, writer_id, err)
            self._unknown_ids.add(writer_id)
            return False
        return True

    def skip(self, offset: int, why: str) -> None:
        self.malformed += 1
        self._errors.inc()
        if not self._logged:
            self._logged = True
            log.warning("%s: skipped a malformed message at offset %d (%s); further ones are "
                        "counted in dmcs_decode_errors_total", self.kafka_topic, offset, why)

