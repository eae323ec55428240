"""The figures the gateway republishes, kept up to date from the DM services' samples.

Each `on_*` method takes one sample of the topic it is named after; `telemetry()` returns
the gateway's telemetry topics as field dicts. Nothing here knows about Kafka.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Component name -> field of the serviceStates telemetry.
SERVICE_FIELDS = {
    "DMCS": "dmcs",
    "Archiver": "archiver",
    "PromptProcessing": "promptProcessing",
    "OCPS": "ocps",
    "MTCamera": "camera",
    "MTHeaderService": "headerService",
    "ScriptQueue": "scriptQueue",
}


@dataclass
class GatewayFigures:
    """See the module docstring."""

    visit_quality: dict[str, Any] = field(default_factory=dict)
    visits_processed: int = 0
    visits_late: int = 0
    alerts_sent: int = 0
    workers_alive: int = 0
    queue: int = 0
    images_read_out: int = 0
    images_archived: int = 0
    archive_backlog: int = 0
    states: dict[str, int] = field(default_factory=dict)

    def on_visit_processed(self, sample: Any) -> None:
        self.visits_processed += 1
        self.alerts_sent += sample.alerts
        self.visit_quality = {
            "groupId": sample.groupId,
            "visit": sample.visit,
            "latency": sample.latency,
            "alerts": sample.alerts,
            "diaSources": sample.diaSources,
            "sources": sample.sources,
            "seeing": sample.seeing,
            "zeroPoint": sample.zeroPoint,
        }

    def on_visit_late(self, sample: Any) -> None:
        self.visits_late += 1

    def on_processing_status(self, sample: Any) -> None:
        self.workers_alive = sample.workersAlive
        self.queue = sample.queue

    def on_end_readout(self, sample: Any) -> None:
        self.images_read_out += 1

    def on_archive_status(self, sample: Any) -> None:
        self.images_archived = sample.imagesArchived
        self.archive_backlog = sample.backlog

    def on_summary_state(self, component: str, state: int) -> None:
        self.states[SERVICE_FIELDS[component]] = state

    def telemetry(self) -> dict[str, dict[str, Any]]:
        return {
            "visitQuality": dict(self.visit_quality),
            "promptProcessingStatus": {
                "visitsProcessed": self.visits_processed,
                "visitsLate": self.visits_late,
                "alertsSent": self.alerts_sent,
                "workersAlive": self.workers_alive,
                "queue": self.queue,
            },
            "archiveStatus": {
                "imagesReadOut": self.images_read_out,
                "imagesArchived": self.images_archived,
                "backlog": self.archive_backlog,
            },
            "serviceStates": dict(self.states),
        }
