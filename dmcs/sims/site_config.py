"""One site's configurations for the simulators and the archiver, agreeing on paths.

``write_site_configs(config_root, data_root, ...)`` writes ``<config_root>/<Component>/
_init.yaml`` for MTCamera, MTHeaderService, ScriptQueue and Archiver, so that the camera's
DAQ store, the header directory and the archive all live under ``data_root``. Pass
``config_root`` as ``dmcs run --config-dir`` (or DMCS_CONFIG_DIR, or a CSC's ``config_root``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def write_site_configs(
    config_root: Path,
    data_root: Path,
    *,
    detectors: list[str],
    detector_size: int = 512,
    exposure_time_scale: float = 1.0,
    lead_time: float = 20.0,
    cadence: float = 40.0,
    seed: int = 1,
    daq_capacity: int = 1000,
) -> dict[str, dict[str, Any]]:
    """Write the four configurations; return them by component name."""
    data_root = Path(data_root).resolve()
    configs: dict[str, dict[str, Any]] = {
        "MTCamera": {
            "seed": seed, "detector_size": detector_size, "detectors": detectors,
            "daq_root": str(data_root / "daq"), "daq_capacity": daq_capacity,
            "exposure_time_scale": exposure_time_scale,
        },
        "MTHeaderService": {"header_root": str(data_root / "headers")},
        "ScriptQueue": {
            "seed": seed, "detector_size": detector_size, "lead_time": lead_time,
            "cadence": cadence,
        },
        "Archiver": {
            "archive_root": str(data_root / "archive"),
            "daq_root": str(data_root / "daq"),
            "header_root": str(data_root / "headers"),
        },
    }
    for name, values in configs.items():
        folder = Path(config_root) / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "_init.yaml").write_text(yaml.safe_dump(values, sort_keys=False))
    return configs
