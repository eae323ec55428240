"""The command acknowledgement protocol: codes, the ackcmd sample, and the errors callers see."""

from __future__ import annotations

from enum import IntEnum

from dmcs.sal.field_types import Double, Int, String
from dmcs.sal.sample import SalSample


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


class AckCmdModel(SalSample):
    """Acknowledgement of one command, addressed to its sender by identity and origin."""

    ack: Int = 0
    error: Int = 0
    result: String = ""
    identity: String = ""
    origin: Int = 0
    cmdtype: Int = 0
    timeout: Double = 0.0


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
