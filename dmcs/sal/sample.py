"""The base of every topic's model: the private fields each sample carries."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from dmcs.sal.field_types import Double, Int, String

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


class SalSample(BaseModel):
    """Fields every sample has; the framework fills them, users set the others.

    Stamps are TAI unix seconds except ``private_efdStamp`` (UTC, set by the EFD sink).
    ``salIndex`` is 0 for a non-indexed component.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    salIndex: Int = 0
    private_sndStamp: Double = 0.0
    private_rcvStamp: Double = 0.0
    private_efdStamp: Double = 0.0
    private_kafkaStamp: Double = 0.0
    private_seqNum: Int = 0
    private_revCode: String = ""
    private_identity: String = ""
    private_origin: Int = 0

    @classmethod
    def user_fields(cls) -> list[str]:
        """Names of the fields a user sets (all but salIndex and the private ones)."""
        return [n for n in cls.model_fields if n != "salIndex" and n not in PRIVATE_FIELDS]
