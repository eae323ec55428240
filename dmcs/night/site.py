"""The night's site configuration: one folder per CSC under `<root>/config`, agreeing on paths.

Every CSC process is run with `--config-dir <root>/config`, so the camera's DAQ, the header
directory, the archive, prompt processing's ledger and the OCPS jobs all live under `<root>`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dmcs.night.efd import EFD_WRITER, efd_writer_config
from dmcs.night.options import NightOptions
from dmcs.sims.data_dirs import data_dir
from dmcs.sims.site_config import write_site_configs

#: Sims first, then the DM services in the DMCS's bring-up order.
SIMULATORS = ("MTCamera", "MTHeaderService", "ScriptQueue:1")
SERVICES = ("Archiver", "PromptProcessing", "OCPS:1", "TelemetryGateway")
#: CPU priorities on a shared node (``nice``): the alert latency path (camera, header service,
#: prompt processing and its ranks, the DMCS, the broker) at 0; what has a looser deadline
#: yields to it: the archiver (before the next visit's readout), batch jobs and telemetry.
NICENESS = {"Archiver": 5, "OCPS": 5, "TelemetryGateway": 10, EFD_WRITER: 10}


def write_night_configs(options: NightOptions, services: list[str], *,
                        efd_url: str | None = None) -> Path:
    """Write every CSC's `_init.yaml` for this night; return the config root."""
    root = options.root.resolve()
    config_root = root / "config"
    data = root / "data"
    size = options.ccd_size
    detectors = options.detectors
    sims = write_site_configs(config_root, data, detectors=detectors, detector_size=size,
                              exposure_time_scale=options.exposure_time_scale,
                              lead_time=options.lead_time, cadence=options.cadence)
    # masters certified, queries resolved and prompt products published in the night's
    # repository, the archive's
    payload = {"seed": sims["MTCamera"]["seed"], "detector_size": size, "detectors": detectors,
               "butler_repo": str(data / "archive")}
    calib = {**payload, "calib_dir": str(data / "calib"), "n_exposures": 3, "exptime": 1.0}
    pp_dir = data / "prompt_processing"
    configs: dict[str, dict[str, Any]] = {
        # pixels are rendered before the night (nothing ahead during it), into a cache that
        # outlives the night's root: the next night with this sky reuses them
        "MTCamera": {**sims["MTCamera"], "render_cache": str(data_dir("render_cache")),
                     "render_ahead": 0},
        "ScriptQueue": {**sims["ScriptQueue"], "calibration_exposure_time": 0.5,
                        "calibration_counts": {k: options.calibrations
                                               for k in ("bias", "dark", "flat")}},
        "PromptProcessing": {"daq_root": str(data / "daq"), "work_dir": str(pp_dir),
                             "ranks": options.ranks, "deadline_s": options.deadline,
                             "payload": payload},
        "OCPS": {"job_store": str(data / "jobs.sqlite"), "ranks": options.ranks,
                 "pipeline_defaults": {
                     "calib-bias": calib, "calib-dark": calib, "calib-flat": calib,
                     "catch-up-late": {**payload, "daq_root": str(data / "daq"),
                                       "prompt_processing_dir": str(pp_dir)}}},
        "DMCS": {"services": services, "ccds": len(detectors),
                 "state_dir": str(root / "dmcs"), "visit_deadline": options.deadline + 30},
    }
    if efd_url is not None:
        configs[EFD_WRITER] = efd_writer_config(efd_url)
    for name, values in configs.items():
        folder = config_root / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "_init.yaml").write_text(yaml.safe_dump(values, sort_keys=False))
    return config_root
