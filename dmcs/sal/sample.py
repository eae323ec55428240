"""The base of every topic's model: the private fields each sample carries.

The private fields, their order, types, units and descriptions are ts_salobj's, so a schema
dmcs registers for a topic ts_xml defines is the one ts_salobj registers. ``salIndex`` is on
every model (0 for a non-indexed component) but only in the schemas of indexed components.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.config import JsonDict

from dmcs.sal.field_types import Double, Long, String

#: The private fields in salobj's order, after ``salIndex``.
PRIVATE_FIELDS = (
    "private_sndStamp",
    "private_rcvStamp",
    "private_efdStamp",
    "private_kafkaStamp",
    "private_seqNum",
    "private_revCode",
    "private_identity",
    "private_origin",
)


def units(value: str) -> JsonDict:
    """A field's units, kept as pydantic JSON-schema extra (the Avro schema carries them)."""
    return {"units": value}


class SalSample(BaseModel):
    """Fields every sample has; the framework fills them, users set the others.

    Stamps are TAI unix seconds except ``private_efdStamp`` (UTC, the EFD's point time).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    salIndex: Long = Field(
        default=0, description="SAL index (only present for indexed SAL components)",
        json_schema_extra=units("unitless"))
    private_sndStamp: Double = Field(
        default=0.0, description="Time of instance publication",
        json_schema_extra=units("second"))
    private_rcvStamp: Double = Field(
        default=0.0, description="Time of instance reception", json_schema_extra=units("second"))
    private_efdStamp: Double = Field(
        default=0.0, description="UTC time for EFD timestamp. An integer (the number of leap "
        "seconds) different from private_sndStamp.", json_schema_extra=units("second"))
    private_kafkaStamp: Double = Field(
        default=0.0, description="TAI time at which the Kafka message was created.",
        json_schema_extra=units("second"))
    private_seqNum: Long = Field(
        default=0, description="Sequence number", json_schema_extra=units("unitless"))
    private_revCode: String = Field(
        default="", description="Revision hashcode", json_schema_extra=units("unitless"))
    private_identity: String = Field(
        default="", description="Identity of publisher: SAL component name for a CSC or "
        "user@host for a user", json_schema_extra=units("unitless"))
    private_origin: Long = Field(
        default=0, description="Process ID of publisher", json_schema_extra=units("unitless"))

    @classmethod
    def user_fields(cls) -> list[str]:
        """Names of the fields a user sets (all but salIndex and the private ones)."""
        return [n for n in cls.model_fields if n != "salIndex" and n not in PRIVATE_FIELDS]

    @classmethod
    def field_validators(cls) -> dict[str, TypeAdapter[Any]]:
        """One validator per user field, so setting two fields checks two, not all.

        A model has no cross-field rules, so field by field is the same check; built once
        per model (the class keeps it).
        """
        validators: dict[str, TypeAdapter[Any]] | None = cls.__dict__.get("_field_validators")
        if validators is None:
            validators = {
                name: TypeAdapter(Annotated[info.annotation, *info.metadata])  # type: ignore[arg-type]
                for name, info in cls.model_fields.items() if name in cls.user_fields()
            }
            type.__setattr__(cls, "_field_validators", validators)
        return validators
