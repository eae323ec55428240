"""`catch-up-late`: daytime alert production for the visits prompt processing marked late.

Plans one item per CCD of every LATE visit in prompt processing's ledger (optionally only
the visits a ``visit=...`` data query names), reading the same raws from the DAQ store. With
``butler_repo``, only the CCDs whose raws the archive holds, and a query naming late visits of
which none has one is refused, naming it.
``finalize`` takes each visit through the ledger's compare-and-set, LATE -> CATCHING_UP ->
CAUGHT_UP, and associates and alerts only the visits it moved: a visit already caught up (or,
by any path, alerted) is skipped, so a catch-up run twice never sends an alert twice.

Config: prompt-visit's (payload, ``daq_root``) plus ``prompt_processing_dir`` (the service's
work_dir: ledger and APDB) and ``alert_stream`` (``bootstrap_servers``, ``subname``, optionally
``topic``), which
OCPS fills in with its own broker when the request does not say.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

from dmcs.payloads.data_query import DataQuery, parse_data_query, resolve_in_butler
from dmcs.sal.domain import Domain
from dmcs.services.prompt_processing.alert_stream import AlertStream
from dmcs.services.prompt_processing.ccd_pipeline import PromptVisitPipeline, ccd_item
from dmcs.services.prompt_processing.service import LEDGER_FILE
from dmcs.services.prompt_processing.visit_ledger import VisitLedger, VisitRecord, VisitState
from dmcs.settings import settings


class CatchUpPipeline(PromptVisitPipeline):
    """See the module docstring."""

    name = "catch-up-late"
    summary = "daytime alert production of the visits prompt processing marked late"
    data_query_help = "visit=1..3 to limit it; empty: every late visit in the ledger"
    sends_alerts = True

    def __init__(self, config: dict[str, Any], output_dir: Path) -> None:
        own = dict(config)
        pp_dir = own.pop("prompt_processing_dir", None)
        stream = own.pop("alert_stream", None)
        if not pp_dir:
            raise ValueError(
                f"invalid {self.name} config: field 'prompt_processing_dir' is required"
            )
        if not isinstance(stream, dict) or "subname" not in stream:
            raise ValueError(f"invalid {self.name} config: field 'alert_stream' needs a subname")
        own.setdefault(
            "apdb_url", f"sqlite:///{(Path(pp_dir) / 'outputs' / 'apdb.sqlite3').resolve()}"
        )
        super().__init__(own, output_dir)
        self.ledger = VisitLedger(Path(pp_dir) / LEDGER_FILE)
        # SASL/TLS settings come from the environment the job inherits, never from job.json.
        self.alert_topic: str | None = stream.get("topic") or None
        self.stream = replace(
            settings().sal(stream.get("bootstrap_servers") or None, stream["subname"],
                           stream.get("schema_registry_url") or None),
            broker_kind=stream.get("broker_kind", "kafka"))

    def _late_visits(self, data_query: str) -> list[VisitRecord]:
        wanted = parse_data_query(data_query).visits if data_query.strip() else None
        return [
            record
            for record in self.ledger.in_state(VisitState.LATE)
            if record.images and (wanted is None or record.visit in wanted)
        ]

    def plan(self, data_query: str) -> list[str]:
        late = self._late_visits(data_query)
        wanted = {(r.visit, d) for r in late for d in r.detectors if d in self.config.detectors}
        if late and self.config.butler_repo is not None:
            query = DataQuery(tuple(r.visit for r in late), None)
            wanted &= set(resolve_in_butler(
                query, self.config.detectors, data_query, self.config.butler_repo))
        return [
            ccd_item(record.visit, detector, record.images)
            for record in late
            for detector in record.detectors
            if (record.visit, detector) in wanted
        ]

    def finalize(self, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
        by_visit: dict[int, dict[str, dict[str, Any]]] = {}
        for result in results.values():
            item = f"visit={result['visit']} detector={result['detector']}"
            by_visit.setdefault(result["visit"], {})[item] = result
        late = {record.visit: record for record in self.ledger.in_state(VisitState.LATE)}
        caught_up: dict[str, int] = {}
        skipped: list[int] = []
        for visit, visit_results in sorted(by_visit.items()):
            record = late.get(visit)
            if record is None or not self.ledger.claim(
                record.group_id, [VisitState.LATE], VisitState.CATCHING_UP
            ):
                skipped.append(visit)
                continue
            summary = super().finalize(visit_results)
            sent = asyncio.run(self._send([Path(p) for p in summary["alert_files"]]))
            self.ledger.claim(
                record.group_id, [VisitState.CATCHING_UP], VisitState.CAUGHT_UP, alerts=sent
            )
            caught_up[record.group_id] = sent
        return {
            "pipeline": self.name,
            "caught_up": caught_up,
            "skipped_visits": skipped,
            "alerts": sum(caught_up.values()),
        }

    async def _send(self, paths: list[Path]) -> int:
        async with Domain(self.stream) as domain:
            alerts = AlertStream(domain, self.alert_topic)
            try:
                return await alerts.send_files(paths)
            finally:
                await alerts.close()
