"""The alert-production payload: per-CCD prompt processing, then association and alerts.

A CCD goes through three steps, in this order, so that alerts never wait for the big files:

1. ``alert_ready(visit, detector)``: the science (ISR ... DIASources) and the one dataset
   association reads, ``diasrc`` (DIASources and their cutouts). Returns an ``AlertReadyCcd``:
   its ``result`` is what ``finalize`` needs for this CCD; its ``products`` stay in memory.
2. ``finalize({item: ccd.result, ...})`` (rank 0, one or many CCDs): associates each visit's
   DIASources into the APDB in visit and detector order and writes one alert file per visit,
   so the science is the same whatever order CCDs finished in. DIASources already in the
   APDB (a re-run) are neither associated nor alerted again, and an earlier alert file is
   left alone. Whoever sends alerts sends them now.
3. ``write_outputs(ccd)``: calexp, source catalog and difference image, tile-compressed as
   Rubin writes them (``io.compression``); appends their paths to ``ccd.result["outputs"]``
   and frees the products. With ``butler_repo``, the CCD's products are then published to
   that Butler repository, in the RUN of the visit's night (``butler_outputs``).

Prompt processing does 1 on a rank, 2 and the sending in the service, then 3. ``run_item``
(the batch path, any rank) does 1 then 3, and scores the CCD against the simulator's truth
(``score_truth``: a test of the science, not part of it, so never in a latency window);
``finalize`` then runs once over every item's result.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.time import Time

from dmcs.payloads.association.alerts import packet, write_alerts
from dmcs.payloads.association.apdb import ApdbClient, parse_apdb_url
from dmcs.payloads.association.association import associate, with_visit_times
from dmcs.payloads.association.butler_outputs import ButlerPublisher, CcdOutputs
from dmcs.payloads.association.cutout_fits import pack, unpack
from dmcs.payloads.association.prompt_processing import CcdProducts, PromptProcessor
from dmcs.payloads.calibration.calibration import provenance_table
from dmcs.payloads.camera.camera import CameraSimulator
from dmcs.payloads.camera.exposure import DataBundle, MaskBit, exposure_to_bundle
from dmcs.payloads.camera.focal_plane import PIXEL_SCALE_ARCSEC, FocalPlane
from dmcs.payloads.camera.render_cache import CachedSnaps, RenderCache
from dmcs.payloads.camera.truth import score
from dmcs.payloads.characterize.psf import FWHM_PER_SIGMA
from dmcs.payloads.config import AlertProductionConfig, validate_config
from dmcs.payloads.data_query import (
    parse_data_query,
    resolve_in_butler,
    select_detectors,
    visit_detector_item,
)
from dmcs.payloads.io.compression import TileCompression
from dmcs.payloads.memory import keep_freed_memory
from dmcs.payloads.repository import OutputRepository
from dmcs.payloads.stage_timer import StageTimer
from dmcs.payloads.storage import read_bundle, write_bundle

NOISE_BITS = int(MaskBit.EDGE | MaskBit.SAT | MaskBit.BAD)
#: What an empty data query processes: one simulated visit, every configured detector.
DEFAULT_QUERY = "visit=1"
#: The dataset association reads: written before alerts, uncompressed (it is small).
ALERT_INPUTS = "diasrc"
#: The kinds of cutout, as the ``diasrc`` dataset and the alert packet name them.
CUTOUT_KINDS = ("cutout_science", "cutout_template", "cutout_difference")
NOMINAL_NIGHT_START_MJD_TAI = 61000.0
NOMINAL_VISIT_CADENCE_S = 40.0
SECONDS_PER_DAY = 86400.0
#: Where CCDs whose products wait for the Butler leave their manifests (``butler_outputs``).
PUBLISH_PENDING = "butler-pending"
#: Image datasets, written after alerts and tile-compressed.
COMPRESSION = TileCompression()


@dataclass
class AlertReadyCcd:
    """One CCD after the science: ``result`` for ``finalize``, ``products`` still to write."""

    visit: int
    detector: str
    result: dict[str, Any]
    products: CcdProducts | None


@dataclass
class CcdAlerts:
    """One CCD's alert packets, associated (stored in the APDB), their file not yet written:
    prompt processing sends them first and writes the file (for replay, the record) after."""

    packets: list[dict[str, Any]]
    counts: dict[str, int]
    path: Path

    def write(self) -> Path | None:
        """The alert file of these packets (None when there are none)."""
        return write_alerts(self.path, self.packets) if self.packets else None


class AlertProductionPipeline:
    name = "alert-production"
    summary = "per-CCD prompt processing of simulated visits, then association and alerts"
    data_query_help = (
        "visit=1..3 detector=R22_S11,R22_S12 (detectors default to the configured ones);"
        f" empty: {DEFAULT_QUERY}"
    )
    #: Whether ``run_item`` scores each CCD against the simulator's truth (batch runs do).
    scores_truth = True

    def __init__(self, config: dict[str, Any], output_dir: Path) -> None:
        self.config = validate_config(AlertProductionConfig, config, self.name)
        self.output = OutputRepository(output_dir)
        self.apdb_url = self.config.apdb_url or self.output.default_apdb_url()
        parse_apdb_url(self.apdb_url)
        self.focal_plane = FocalPlane(self.config.detector_size)
        self.simulator: CameraSimulator | None = None
        self.processor: PromptProcessor | None = None
        self.stage_seconds: dict[str, float] = {}
        self._ccd_apdb: ApdbClient | None = None
        self.publisher = (None if self.config.butler_repo is None
                          else ButlerPublisher(self.config.butler_repo,
                                               self.output.root / PUBLISH_PENDING))

    def plan(self, data_query: str) -> list[str]:
        """Items of the query's visits and detectors; an empty query means DEFAULT_QUERY."""
        query = parse_data_query(data_query or DEFAULT_QUERY)
        if query.visits is None:
            raise ValueError(
                f"alert-production needs visits: data query {data_query!r} has no visit=..."
            )
        if self.config.butler_repo is not None:
            pairs = resolve_in_butler(query, self.config.detectors,
                                      data_query or DEFAULT_QUERY, self.config.butler_repo)
            return [visit_detector_item(visit, detector) for visit, detector in pairs]
        detectors = select_detectors(query, self.config.detectors, data_query)
        ordered = sorted(detectors, key=lambda name: self.focal_plane.detector(name).index)
        return [
            visit_detector_item(visit, detector) for visit in query.visits for detector in ordered
        ]

    def setup(self) -> None:
        keep_freed_memory()
        self.simulator = self.config.simulator()
        if self.config.render_cache is not None:
            self.simulator = CachedSnaps(RenderCache(self.config.render_cache, self.simulator))
        self.processor = PromptProcessor(self.config, self.simulator)
        missing = self.processor.missing_calibrations(self.config.detectors)
        if missing:
            raise FileNotFoundError(
                f"alert-production: {len(missing)} master calibrations missing, "
                f"first {missing[0]}; "
                "run calib-bias, calib-dark and calib-flat into calib_dir first"
            )

    def _parse_item(self, item: str) -> tuple[int, str]:
        query = parse_data_query(item)
        if (
            query.visits is None
            or query.detectors is None
            or len(query.visits) != 1
            or len(query.detectors) != 1
        ):
            raise ValueError(f"bad work item {item!r}: expected 'visit=<n> detector=<name>'")
        return query.visits[0], query.detectors[0]

    def run_item(self, item: str) -> dict[str, Any]:
        """The batch path: alert-ready products, then the outputs, then the truth score."""
        visit, detector = self._parse_item(item)
        timer = StageTimer()
        ccd = self.alert_ready(visit, detector, timer)
        truth = None
        if self.scores_truth:
            with timer.stage("truth"):
                truth = self.score_truth(ccd)
        self.write_outputs(ccd, timer)
        if self.publisher is not None and self.publisher.retry(force=True):
            raise LookupError(f"visit {visit} {detector}: products not published to the "
                              f"Butler repository {self.publisher.repo}: its raws are not in")
        self.stage_seconds = timer.seconds
        self.stage_cpu_seconds = timer.cpu_seconds
        return ccd.result if truth is None else ccd.result | {"truth": truth}

    def alert_ready(
        self, visit: int, detector: str, timer: StageTimer | None = None
    ) -> AlertReadyCcd:
        """Step 1 of the module docstring: the science and the ``diasrc`` dataset."""
        if self.processor is None:
            self.setup()
        assert self.processor is not None
        timer = timer or StageTimer()
        products = self.processor.process(visit, self.focal_plane.detector(detector), timer)
        with timer.stage("alert_inputs"):
            bundle = DataBundle(
                {"diasources": products.dia_sources} | _packed(products.cutouts),
                self._catalog_metadata(products),
                products.calexp.wcs,
            )
            path = self._write_dataset(ALERT_INPUTS, visit, detector, bundle)
        result = self._result(visit, detector, products, [path])
        result["midpoint_mjd_tai"] = self.visit_midpoint_mjd_tai(visit)
        return AlertReadyCcd(visit, detector, result, products)

    def visit_midpoint_mjd_tai(self, visit: int) -> float:
        """The middle of the visit's exposure (MJD, TAI): a simulated visit has no clock, so
        visit ``n`` starts ``n`` cadences after a nominal night start."""
        assert self.simulator is not None
        model = self.simulator.model
        start = NOMINAL_NIGHT_START_MJD_TAI + visit * NOMINAL_VISIT_CADENCE_S / SECONDS_PER_DAY
        exposure = model.snaps_per_visit * model.snap_exptime
        return start + exposure / 2 / SECONDS_PER_DAY

    def write_outputs(self, ccd: AlertReadyCcd, timer: StageTimer | None = None) -> list[str]:
        """Step 3 of the module docstring: calexp, src, diffim; their paths (once only)."""
        return self.record_outputs(ccd, self.write_output_files(ccd, timer), timer)

    def write_output_files(
        self, ccd: AlertReadyCcd, timer: StageTimer | None = None
    ) -> dict[str, str]:
        """The files of step 3 (the CPU-heavy part: tile compression), by dataset type;
        ``ccd`` is left as it was, so this may run in another process."""
        products = ccd.products
        if products is None:
            raise ValueError(f"visit {ccd.visit} {ccd.detector}: outputs already written")
        with (timer or StageTimer()).stage("write"):
            provenance = {"provenance": provenance_table(self._inputs(ccd.visit, ccd.detector))}
            bundles = {
                "calexp": exposure_to_bundle(products.calexp, provenance),
                "src": DataBundle(
                    {"sources": products.characterization.sources},
                    self._catalog_metadata(products),
                ),
                "diffim": exposure_to_bundle(products.difference, provenance),
            }
            return {
                name: self._write_dataset(name, ccd.visit, ccd.detector, bundle, COMPRESSION)
                for name, bundle in bundles.items()
            }

    def record_outputs(
        self, ccd: AlertReadyCcd, written: dict[str, str], timer: StageTimer | None = None
    ) -> list[str]:
        """The rest of step 3 once ``written`` exist: paths noted, products freed, published."""
        products = ccd.products
        if products is None:
            raise ValueError(f"visit {ccd.visit} {ccd.detector}: outputs already recorded")
        ccd.products = None
        ccd.result["outputs"].extend(written.values())
        if self.publisher is not None:
            files = {**written, ALERT_INPUTS: _alert_inputs_path(ccd.result)}
            with (timer or StageTimer()).stage("publish"):
                self.publisher.publish(
                    CcdOutputs(ccd.visit, ccd.detector, files),
                    {"src": products.characterization.sources,
                     ALERT_INPUTS: products.dia_sources})
        return list(written.values())

    def _write_dataset(
        self,
        name: str,
        visit: int,
        detector: str,
        bundle: DataBundle,
        compression: TileCompression | None = None,
    ) -> str:
        path = self.output.visit_dataset(name, visit, detector)
        return str(write_bundle(path, bundle, self.config.format_of(name), compression))

    def _inputs(self, visit: int, detector: str) -> list[str]:
        assert self.simulator is not None
        snaps = [
            f"raw visit {visit} snap {s} detector {detector}"
            for s in range(self.simulator.model.snaps_per_visit)
        ]
        calibrations = (
            [
                str(self.config.calib_dir / "calib" / kind / detector)
                for kind in ("bias", "dark", "flat")
            ]
            if self.config.calib_dir is not None
            else ["simulator instrument signature"]
        )
        return [*snaps, *calibrations, f"template detector {detector} (simulated coadd)"]

    @staticmethod
    def _catalog_metadata(products: CcdProducts) -> dict[str, str | int | float | bool]:
        keys = ("VISIT", "DETECTOR", "DETINDEX", "EXPTIME", "ZP", "PSFSIGMA")
        return {key: products.calexp.metadata[key] for key in keys}

    def score_truth(self, ccd: AlertReadyCcd) -> dict[str, float | int]:
        """The CCD's results against what the simulator injected (before ``write_outputs``)."""
        assert self.simulator is not None
        products = ccd.products
        if products is None:
            raise ValueError(f"visit {ccd.visit} {ccd.detector}: products already written")
        difference = products.difference
        usable = (difference.mask & NOISE_BITS) == 0
        assert products.calexp.wcs is not None
        return score(
            self.simulator.scene(ccd.visit, self.focal_plane.detector(ccd.detector)),
            products.dia_sources,
            float(np.median(difference.variance[usable])),
            float(products.calexp.metadata["EXPTIME"]),
            products.characterization.zero_point.value,
            products.calexp.wcs,
            self.config.detector_size,
        ).as_dict()

    def _result(
        self, visit: int, detector: str, products: CcdProducts, outputs: list[str]
    ) -> dict[str, Any]:
        characterization = products.characterization
        dia = products.dia_sources
        difference = products.difference
        return {
            "visit": visit,
            "detector": detector,
            "outputs": outputs,
            "n_sources": len(characterization.sources),
            "n_diasources": len(dia),
            "n_diasources_negative": int(dia["isNegative"].sum()),
            "zero_point": characterization.zero_point.value,
            "psf_fwhm_arcsec": characterization.psf_sigma * FWHM_PER_SIGMA * PIXEL_SCALE_ARCSEC,
            "astrometric_rms_arcsec": characterization.astrometry.rms_arcsec,
            "n_astrometric_matches": characterization.astrometry.n_matched,
            "kernel_stamps": int(difference.metadata["KNSTAMPS"]),
        }

    def finalize(self, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
        by_visit: dict[int, list[dict[str, Any]]] = {}
        for item in sorted(
            results,
            key=lambda i: (
                self._parse_item(i)[0],
                self.focal_plane.detector(self._parse_item(i)[1]).index,
            ),
        ):
            by_visit.setdefault(results[item]["visit"], []).append(results[item])
        apdb = ApdbClient(self.apdb_url)
        alert_files: list[str] = []
        counts = {"n_alerts": 0, "n_new_objects": 0, "n_updated_objects": 0}
        try:
            for visit, visit_results in sorted(by_visit.items()):
                packets, visit_counts = self._associate_visit(apdb, visit, visit_results)
                if packets:
                    alert_files.append(str(write_alerts(self.output.alerts(visit), packets)))
                for key, value in visit_counts.items():
                    counts[key] += value
            n_objects = apdb.count("DiaObject")
        finally:
            apdb.close()
        ordered = [result for visit in sorted(by_visit) for result in by_visit[visit]]
        scored = [r for r in ordered if "truth" in r]
        injected = sum(r["truth"]["n_injected_above_10sigma"] for r in scored)
        recovered = sum(r["truth"]["n_recovered_above_10sigma"] for r in scored)
        return {
            "pipeline": self.name,
            "visits": sorted(by_visit),
            "n_items": len(ordered),
            "n_diasources": sum(r["n_diasources"] for r in ordered),
            **counts,
            "n_dia_objects_in_apdb": n_objects,
            "alert_files": alert_files,
            "apdb_url": self.apdb_url,
            "completeness_above_10sigma": recovered / injected if injected else None,
            "false_diasources_per_ccd": {
                f"{r['visit']}/{r['detector']}": r["truth"]["n_false_diasources"] for r in scored
            },
        }

    def associate_ccd(self, result: dict[str, Any]) -> CcdAlerts:
        """One CCD, prompt processing's unit: its DIASources associated into the APDB now
        (whatever the visit's other CCDs are doing), its alert packets built, not yet written.
        The APDB stays open from one CCD to the next (opening it parses its schema: ~0.9 s,
        in the latency path); every call still reads what other writers stored."""
        visit, detector = result["visit"], result["detector"]
        if self._ccd_apdb is None:
            self._ccd_apdb = ApdbClient(self.apdb_url)
        packets, counts = self._associate_visit(self._ccd_apdb, visit, [result])
        return CcdAlerts(packets, counts, self.output.alerts(visit, detector))

    def finalize_ccd(self, result: dict[str, Any]) -> dict[str, Any]:
        """``finalize`` of one CCD: ``associate_ccd`` and its alert file written."""
        alerts = self.associate_ccd(result)
        path = alerts.write()
        return {"alert_files": [] if path is None else [str(path)], **alerts.counts}

    def close_apdb(self) -> None:
        """Let go of the APDB ``finalize_ccd`` keeps open."""
        if self._ccd_apdb is not None:
            self._ccd_apdb.close()
            self._ccd_apdb = None

    def _associate_visit(
        self, apdb: ApdbClient, visit: int, visit_results: list[dict[str, Any]],
    ) -> tuple[list[dict[str, Any]], dict[str, int]]:
        bundles = [read_bundle(Path(_alert_inputs_path(r))) for r in visit_results]
        processed = float(Time.now().tai.mjd)
        packets = []
        counts = {"n_new_objects": 0, "n_updated_objects": 0}
        for bundle, result in zip(bundles, visit_results, strict=True):
            catalog = bundle.arrays["diasources"]
            sources = with_visit_times(
                catalog, np.full(len(catalog), result["midpoint_mjd_tai"]), processed)
            association = associate(apdb, sources, self.config.association_radius_arcsec,
                                    self.config.history_length)
            counts["n_new_objects"] += len(association.new_object_ids)
            counts["n_updated_objects"] += len(association.updated_object_ids)
            stamps = [unpack(bundle.arrays[kind], bundle.arrays[f"{kind}_offsets"])
                      for kind in CUTOUT_KINDS]
            names = sources.dtype.names or ()
            rows = sources.tolist()  # Python scalars, a row at a time (not a field at a time)
            for index in np.nonzero(association.object_ids >= 0)[0]:
                object_id = int(association.object_ids[index])
                source = dict(zip(names, rows[index], strict=True))
                source["diaObjectId"] = object_id
                science, template, difference = (kind[index] for kind in stamps)
                packets.append(packet(source, association.history.get(object_id, []),
                                      association.objects[object_id],
                                      (science, template, difference)))
        return packets, {"n_alerts": len(packets), **counts}


def _alert_inputs_path(result: dict[str, Any]) -> str:
    """The ``diasrc`` file among a CCD result's outputs."""
    return next(p for p in result["outputs"] if f"/{ALERT_INPUTS}/" in p)


def _packed(cutouts: dict[str, list[bytes]]) -> dict[str, np.ndarray]:
    """Each kind's FITS cutouts as a byte array and its offsets (a dataset holds arrays)."""
    arrays = {}
    for kind, blobs in cutouts.items():
        arrays[kind], arrays[f"{kind}_offsets"] = pack(blobs)
    return arrays
