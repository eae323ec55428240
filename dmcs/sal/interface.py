"""A component's interface: its commands, events and telemetry, and their Kafka topics."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import Any

from fastavro import parse_schema

from dmcs.sal.avro_schema import avro_schema, rev_code, schema_text
from dmcs.sal.sample import SalSample


class TopicKind(Enum):
    """What a topic carries; its value is the Kafka topic name prefix."""

    COMMAND = "command_"
    EVENT = "logevent_"
    TELEMETRY = ""
    ACK = "ackcmd"


@dataclass(frozen=True)
class TopicSpec:
    """One topic of one component: its model and the Avro schema ts_salobj would register.

    The schema's registry id is not known here: the Domain registers the schema and keeps
    the id (see :mod:`dmcs.sal.schema_ids`).
    """

    component: str
    kind: TopicKind
    name: str
    model: type[SalSample]
    indexed: bool

    @property
    def sal_name(self) -> str:
        """The name as SAL spells it: command_start, logevent_heartbeat, scalars, ackcmd."""
        return "ackcmd" if self.kind is TopicKind.ACK else self.kind.value + self.name

    def kafka_topic(self, subname: str) -> str:
        return f"lsst.{subname}.{self.component}.{self.sal_name}"

    def subject(self, subname: str) -> str:
        """The schema registry subject of the topic (topic-name strategy)."""
        return f"{self.kafka_topic(subname)}-value"

    @property
    def namespace(self) -> str:
        """The schema namespace (and EFD measurement prefix): independent of the subname."""
        return f"lsst.sal.{self.component}"

    @cached_property
    def schema(self) -> dict[str, Any]:
        return avro_schema(self.model, self.sal_name, self.namespace, indexed=self.indexed,
                           description=(self.model.__doc__ or "").strip())

    @cached_property
    def schema_text(self) -> str:
        return schema_text(self.schema)

    @cached_property
    def parsed_schema(self) -> Any:
        return parse_schema(self.schema)

    @cached_property
    def rev_code(self) -> str:
        """Carried in `private_revCode`: the first 8 hex digits of the schema's md5."""
        return rev_code(self.schema)

    @property
    def compacted(self) -> bool:
        """Events keep their latest value per index for late joiners."""
        return self.kind is TopicKind.EVENT


@dataclass(frozen=True)
class Interface:
    """Everything a component offers on the wire."""

    name: str
    indexed: bool
    commands: dict[str, type[SalSample]]
    events: dict[str, type[SalSample]]
    telemetry: dict[str, type[SalSample]]
    description: str = ""
    _specs: dict[tuple[TopicKind, str], TopicSpec] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        from dmcs.sal.ack import AckCmdModel

        groups: list[tuple[TopicKind, dict[str, type[SalSample]]]] = [
            (TopicKind.COMMAND, self.commands),
            (TopicKind.EVENT, self.events),
            (TopicKind.TELEMETRY, self.telemetry),
            (TopicKind.ACK, {"ackcmd": AckCmdModel}),
        ]
        for kind, models in groups:
            for name, model in models.items():
                self._specs[(kind, name)] = TopicSpec(self.name, kind, name, model, self.indexed)

    def spec(self, kind: TopicKind, name: str) -> TopicSpec:
        try:
            return self._specs[(kind, name)]
        except KeyError:
            known = ", ".join(sorted(n for k, n in self._specs if k is kind))
            raise ValueError(
                f"{self.name} has no {kind.name.lower()} {name!r}; known: {known}"
            ) from None

    @property
    def ack_spec(self) -> TopicSpec:
        return self._specs[(TopicKind.ACK, "ackcmd")]

    def specs(self, kind: TopicKind | None = None) -> list[TopicSpec]:
        return [s for (k, _), s in self._specs.items() if kind is None or k is kind]

    def command_id(self, name: str) -> int:
        """The `cmdtype` number of a command, stable for a given interface."""
        return sorted(self.commands).index(name)
