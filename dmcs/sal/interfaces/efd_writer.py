"""The EFDWriter component: Kafka -> InfluxDB (the EFD), reporting its own health."""

from __future__ import annotations

from dmcs.sal.field_types import Bool, Double, Int, Long, String
from dmcs.sal.interface import Interface
from dmcs.sal.interfaces.generic import GENERIC_COMMANDS, GENERIC_EVENTS
from dmcs.sal.sample import SalSample


class HealthTelemetry(SalSample):
    """The writer at a glance, once a second while enabled.

    lag*: messages on the broker not yet accepted by InfluxDB (total, and the worst topic).
    batchLatency: milliseconds to write the last batch, retries included.
    """

    topics: Int = 0
    messages: Long = 0
    pointsWritten: Long = 0
    pointsDropped: Long = 0
    pointsPerSecond: Double = 0.0
    batchLatency: Double = 0.0
    lagTotal: Long = 0
    lagMax: Long = 0
    lagMaxTopic: String = ""
    bufferedPoints: Long = 0
    paused: Bool = False
    decodeErrors: Long = 0
    writeErrors: Long = 0


EFD_WRITER = Interface(
    name="EFDWriter",
    indexed=False,
    description="EFD writer: every Kafka topic of the subname into InfluxDB, at least once.",
    commands=dict(GENERIC_COMMANDS),
    events=dict(GENERIC_EVENTS),
    telemetry={"health": HealthTelemetry},
)
