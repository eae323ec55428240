"""Writing one topic: validated user data, framework-filled private fields, no delivery waits.

Messages are as ts_salobj writes them: Confluent framing with the topic's registry id, the
key empty for telemetry and ``{ "name": "Test", "index": 1, "topic": "command_setScalars" }``
(no ``"index"`` for a non-indexed component) otherwise, ``private_efdStamp`` the UTC time of
the write and ``private_revCode`` the schema's short md5.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import time
from typing import Any

from pydantic import ValidationError

from dmcs import metrics
from dmcs.sal.codec import encode, header
from dmcs.sal.domain import Domain
from dmcs.sal.interface import TopicKind, TopicSpec
from dmcs.sal.sample import SalSample
from dmcs.sal.tai import tai_minus_utc
from dmcs.validation import describe_validation_error

log = logging.getLogger(__name__)


class TopicWriter:
    """Writes samples of one topic as one identity/index.

    `set` validates the fields a user gives (a bad value raises ValueError naming the field)
    and keeps them for later writes; `write` fills the private fields and hands the message to
    the producer without waiting for delivery, so a writer can sustain tens of thousands of
    messages per second. `flush` waits for everything written so far.
    """

    def __init__(self, domain: Domain, spec: TopicSpec, index: int, identity: str) -> None:
        self.domain = domain
        self.spec = spec
        self.index = index
        self.identity = identity
        self.kafka_topic = spec.kafka_topic(domain.subname)
        self._key = message_key(spec, index)
        self._prefix: bytes | None = None
        self._producer: Any = None
        self._model = spec.model
        self._record: dict[str, Any] = spec.model(salIndex=index).model_dump()
        self._user_fields = frozenset(spec.model.user_fields())
        self._validators = spec.model.field_validators()
        self._has_data = False
        self._seq = itertools.count(1)
        self._last_delivery: asyncio.Future[Any] | None = None
        self._sent = metrics.MESSAGES.labels(self.kafka_topic, "out")
        self._highest_offset = -1
        self.send_errors = 0

    @property
    def name(self) -> str:
        return self.spec.sal_name

    @property
    def has_data(self) -> bool:
        """True once a value was set or written (so there is something to republish)."""
        return self._has_data

    @property
    def data(self) -> SalSample:
        """The current data, as the next write will send it (private fields aside)."""
        return self._model.model_construct(**self._record)

    def set(self, **fields: Any) -> bool:
        """Validate and keep `fields`; return True if any value changed."""
        if not fields:
            return False
        unknown = fields.keys() - self._user_fields
        if unknown:
            raise ValueError(
                f"{self.name} has no field(s) {', '.join(sorted(unknown))}; "
                f"fields: {', '.join(self._model.user_fields())}"
            )
        try:
            validated = {k: self._validators[k].validate_python(v) for k, v in fields.items()}
        except ValidationError:
            # The whole model says which field was wrong and why, in the usual words.
            try:
                self._model.model_validate({**self._record, **fields})
            except ValidationError as err:
                raise ValueError(describe_validation_error(f"{self.name} data", err)) from None
            raise
        changed = any(validated[k] != self._record[k] for k in fields)
        self._record = {**self._record, **validated}
        self._has_data = True
        return changed

    def replace(self, **fields: Any) -> None:
        """Reset to defaults, then set `fields` (commands carry only what the caller gives)."""
        self._record = self._model(salIndex=self.index).model_dump()
        self.set(**fields)

    async def write(self, seq_num: int | None = None, *, delivered: bool = False) -> None:
        """Send the current data (`data` then shows it as written); with `delivered`, wait
        until the broker has it and raise its refusal (KafkaError) to the caller."""
        prefix = self._prefix
        if prefix is None:
            prefix = self._prefix = header(self.domain.schema_id(self.spec))
            self._producer = self.domain.producer_for(self.spec.kind)
        record = self._record
        utc = time.time()
        tai = utc + tai_minus_utc()
        record["private_sndStamp"] = tai
        record["private_kafkaStamp"] = tai
        record["private_efdStamp"] = utc
        record["private_seqNum"] = next(self._seq) if seq_num is None else seq_num
        record["private_revCode"] = self.spec.rev_code
        record["private_identity"] = self.identity
        record["private_origin"] = self.domain.origin
        record["salIndex"] = self.index
        payload = encode(self.spec.parsed_schema, prefix, record)
        delivery = await self._producer.send(self.kafka_topic, payload, key=self._key)
        delivery.add_done_callback(functools.partial(self._check_delivery, payload,
                                                     not delivered))
        self._last_delivery = delivery
        self._sent.inc()
        self._has_data = True
        if delivered:
            await delivery

    async def set_write(self, *, force_output: bool = True, **fields: Any) -> bool:
        """Set fields and write if anything changed (or always, with force_output)."""
        changed = self.set(**fields)
        if changed or force_output or not self._has_data:
            await self.write()
            return True
        return False

    async def flush(self) -> None:
        """Wait until every message written so far is on the broker."""
        if self._last_delivery is not None:
            await self._last_delivery

    def _check_delivery(self, payload: bytes, log_failure: bool,
                        delivery: asyncio.Future[Any]) -> None:
        """Count a failed write (and log it, unless the caller waits for it); report a log
        that restarted below what we wrote before.

        Offsets of one partition only grow, so an acknowledged offset below our highest means
        the broker lost the topic (restarted empty) — whoever recreated it since.
        """
        if delivery.cancelled():
            return
        if delivery.exception() is not None:
            self.send_errors += 1
            if log_failure:
                log.error("%s: write failed: %s", self.kafka_topic, delivery.exception())
            return
        written = delivery.result()
        if written.offset < self._highest_offset:
            self.domain.report_lost_log(self.kafka_topic)
        self._highest_offset = max(self._highest_offset, written.offset)
        self.domain.note_written(written.topic, written.partition, written.offset, payload)


def message_key(spec: TopicSpec, index: int) -> bytes:
    """The Kafka key ts_salobj gives a topic's messages (readers never filter on it)."""
    if spec.kind is TopicKind.TELEMETRY:
        return b""
    index_entry = f' "index": {index},' if spec.indexed else ""
    return f'{{ "name": "{spec.component}",{index_entry} "topic": "{spec.sal_name}" }}'.encode()
