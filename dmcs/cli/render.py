"""How samples, acks and state steps read on a terminal (shared by watch, command, state, demo)."""

from __future__ import annotations

import time
from typing import Any

from dmcs.sal.ack import AckCmdModel, AckCode
from dmcs.sal.sample import PRIVATE_FIELDS, SalSample
from dmcs.sal.tai import utc_from_tai
from dmcs.state_machines.summary_state import State


def clock_text(tai: float) -> str:
    """Local wall-clock time of a TAI stamp, to the millisecond: `14:03:07.215`."""
    utc = utc_from_tai(tai)
    return time.strftime("%H:%M:%S", time.localtime(utc)) + f".{int(utc % 1 * 1000):03d}"


def age_text(seconds: float) -> str:
    """A short human duration: `0.4 s`, `12 s`, `5 min`, `3 h`, `2 d`."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def value_text(name: str, value: Any) -> str:
    """One field value: floats to 7 significant digits, states by name, strings quoted."""
    if name == "summaryState" and value in State._value2member_map_:
        return f"{State(value).name}"
    if isinstance(value, float):
        return f"{value:.7g}"
    if isinstance(value, list):
        return "[" + ", ".join(value_text("", v) for v in value) + "]"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def fields_text(sample: SalSample, *, private: bool = False) -> str:
    """`name=value` for the user fields (and the private ones if asked)."""
    names = [*type(sample).user_fields(), *(PRIVATE_FIELDS if private else ())]
    return "  ".join(f"{n}={value_text(n, getattr(sample, n))}" for n in names)


def sample_line(topic: str, sample: SalSample, *, width: int = 0, private: bool = False) -> str:
    """One line per sample: time, topic, index, fields."""
    return (f"{clock_text(sample.private_sndStamp)}  {topic:<{width}}  {sample.salIndex:>3}  "
            f"{fields_text(sample, private=private)}").rstrip()


def ack_line(ack: AckCmdModel, elapsed_s: float) -> str:
    """`   12 ms  INPROGRESS  waiting 3.0 s`."""
    code = AckCode(ack.ack)
    return f"{elapsed_s * 1000:7.0f} ms  {code.name:<10}  {ack.result}".rstrip()


def step_line(before: State, after: State, command: str, elapsed_s: float) -> str:
    """`STANDBY -> DISABLED  start  12 ms`."""
    return f"{before.name:>8} -> {after.name:<8}  {command:<11}  {elapsed_s * 1000:5.0f} ms"
