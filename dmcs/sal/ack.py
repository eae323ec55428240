"""The command acknowledgement protocol: codes, the ackcmd sample, and the errors callers see."""

from __future__ import annotations

from enum import IntEnum

from pydantic import Field

from dmcs.sal.field_types import Double, Long, String
from dmcs.sal.sample import SalSample, units


class AckCode(IntEnum):
    """SAL ack codes, with the observatory's numbers."""

    ACK = 300
    INPROGRESS = 301
    STALLED = 302
    COMPLETE = 303
    NOPERM = -300
    NOACK = -301
    FAILED = -302
    ABORTED = -303
    TIMEOUT = -304

    @property
    def is_final(self) -> bool:
        return self not in (AckCode.ACK, AckCode.INPROGRESS, AckCode.STALLED)

    @property
    def label(self) -> str:
        return f"CMD_{self.name}"


_UNITLESS = units("unitless")


class AckCmdModel(SalSample):
    """Command acknowledgement"""

    ack: Long = Field(default=0, description="Acknowledgement code", json_schema_extra=_UNITLESS)
    error: Long = Field(default=0, description="An error code; only relevant if ack=FAILED",
                        json_schema_extra=_UNITLESS)
    result: String = Field(default="", description="Message", json_schema_extra=_UNITLESS)
    identity: String = Field(
        default="", description="private_identity field of the command being acknowledged",
        json_schema_extra=_UNITLESS)
    origin: Long = Field(
        default=0, description="private_origin field of the command being acknowledged",
        json_schema_extra=_UNITLESS)
    cmdtype: Long = Field(
        default=0,
        description="Index of command in alphabetical list of commands, with 0 being the first",
        json_schema_extra=_UNITLESS)
    timeout: Double = Field(
        default=0.0, description="Estimated remaining duration of command; only relevant if "
        "ack=INPROGRESS", json_schema_extra=units("second"))


class AckError(Exception):
    """A command ended in anything but COMPLETE; `ack` is the final acknowledgement."""

    def __init__(self, command: str, ack: AckCmdModel) -> None:
        self.command = command
        self.ack = ack
        code = AckCode(ack.ack)
        super().__init__(f"{command} ended with {code.label}: {ack.result}")

    @property
    def code(self) -> AckCode:
        return AckCode(self.ack.ack)
