"""`catch-up-late`: daytime alert production for the CCDs prompt processing left behind.

Plans one item per CCD that prompt processing's ledger holds as LATE (past the deadline,
cancelled) or FAILED (lost ranks, an unreadable raw) — CCD by CCD, whether the rest of its
visit was alerted or not — optionally only of the visits a ``visit=...`` data query names,
reading the same raws from the DAQ store. With ``butler_repo``, only the CCDs whose raws the
archive holds, and a query naming visits of which none has one is refused, naming it.
``finalize`` takes each CCD through the ledger's compare-and-set, LATE/FAILED -> CATCHING_UP ->
CAUGHT_UP, and associates and alerts only the CCDs it moved: one already caught up (or, by
any path, alerted) is skipped, so a catch-up run twice never sends an alert twice. A CCD
whose data cannot give a result (too few stars) is a result: recorded UNPROCESSABLE with the
reason, and the job succeeds; only errors of the system fail an item (and so the job). A
LATE visit is CAUGHT_UP once every one of its CCDs is settled.

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
from dmcs.services.prompt_processing.ccd_pipeline import (
    UNPROCESSABLE,
    PromptVisitPipeline,
    ccd_item,
)
from dmcs.services.prompt_processing.service import LEDGER_FILE
from dmcs.services.prompt_processing.visit_ledger import (
    DONE,
    LEFT_FOR_CATCH_UP,
    CcdRecord,
    CcdState,
    VisitLedger,
    VisitState,
)
from dmcs.settings import settings


class CatchUpPipeline(PromptVisitPipeline):
    """See the module docstring."""

    name = "catch-up-late"
    summary = "daytime alert production of the visits prompt processing marked late"
    data_query_help = "visit=1..3 to limit it; empty: every late visit in the ledger"
    sends_alerts = True
    defers_outputs = False  # a batch job's ranks have no idle time: outputs with the item

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

    def _left_ccds(self, data_query: str) -> list[CcdRecord]:
        wanted = parse_data_query(data_query).visits if data_query.strip() else None
        return [
            ccd
            for ccd in self.ledger.ccds(None, *LEFT_FOR_CATCH_UP)
            if ccd.images and ccd.detector in self.config.detectors
            and (wanted is None or ccd.visit in wanted)
        ]

    def plan(self, data_query: str) -> list[str]:
        left = self._left_ccds(data_query)
        wanted = {(c.visit, c.detector) for c in left}
        if left and self.config.butler_repo is not None:
            query = DataQuery(tuple(sorted({c.visit for c in left})), None)
            wanted &= set(resolve_in_butler(
                query, self.config.detectors, data_query, self.config.butler_repo))
        return [ccd_item(c.visit, c.detector, c.images) for c in left
                if (c.visit, c.detector) in wanted]

    def finalize(self, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
        left = {(c.visit, c.detector): c for c in self.ledger.ccds(None, *LEFT_FOR_CATCH_UP)}
        ordered = sorted(results.values(), key=lambda r: (
            r["visit"], self.focal_plane.detector(r["detector"]).index))
        claimed: list[tuple[CcdRecord, dict[str, Any]]] = []
        skipped: set[int] = set()
        for result in ordered:
            ccd = left.get((result["visit"], result["detector"]))
            if ccd is None or not self.ledger.claim_ccd(
                ccd.group_id, ccd.detector, LEFT_FOR_CATCH_UP, CcdState.CATCHING_UP
            ):
                skipped.add(result["visit"])
                continue
            claimed.append((ccd, result))
        unprocessable: dict[str, str] = {}
        files: dict[tuple[str, str], list[Path]] = {}
        for ccd, result in claimed:
            if UNPROCESSABLE in result:
                unprocessable[f"{ccd.group_id}/{ccd.detector}"] = result[UNPROCESSABLE]
                self.ledger.claim_ccd(ccd.group_id, ccd.detector, [CcdState.CATCHING_UP],
                                      CcdState.UNPROCESSABLE, reason=result[UNPROCESSABLE])
            else:
                summary = self.finalize_ccd(result)
                files[(ccd.group_id, ccd.detector)] = [Path(p) for p in summary["alert_files"]]
        sent = asyncio.run(self._send(files)) if files else {}
        caught_up: dict[str, int] = {}
        for (group, detector), alerts in sent.items():
            self.ledger.claim_ccd(group, detector, [CcdState.CATCHING_UP], CcdState.CAUGHT_UP,
                                  alerts=alerts)
            caught_up[group] = caught_up.get(group, 0) + alerts
        for group in {ccd.group_id for ccd, _ in claimed}:
            self._settle_visit(group)
            caught_up.setdefault(group, 0)
        return {
            "pipeline": self.name,
            "caught_up": caught_up,
            "unprocessable": unprocessable,
            "skipped_visits": sorted(skipped - {ccd.visit for ccd, _ in claimed}),
            "alerts": sum(caught_up.values()),
        }

    def _settle_visit(self, group_id: str) -> None:
        """A late visit whose every CCD has settled is caught up."""
        ccds = self.ledger.ccds(group_id)
        if all(c.state in DONE for c in ccds):
            self.ledger.claim(group_id, [VisitState.LATE], VisitState.CAUGHT_UP,
                              alerts=sum(c.alerts for c in ccds))

    async def _send(self, files: dict[tuple[str, str], list[Path]]) -> dict[tuple[str, str], int]:
        async with Domain(self.stream) as domain:
            alerts = AlertStream(domain, self.alert_topic)
            try:
                return {key: await alerts.send_files(paths) for key, paths in files.items()}
            finally:
                await alerts.close()
