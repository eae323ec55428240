"""Simulator fixtures: tiny CCDs, data and configurations in the test's own directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmcs.sims.site_config import write_site_configs

DETECTORS = ["R22_S11", "R22_S12"]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A config root for all simulators: 128-pixel CCDs, no waiting during exposures."""
    config_root = tmp_path / "config"
    write_site_configs(config_root, tmp_path / "data", detectors=DETECTORS,
                       detector_size=128, exposure_time_scale=0.0, lead_time=2.0, cadence=3.0)
    queue = config_root / "ScriptQueue" / "_init.yaml"
    queue.write_text(queue.read_text() + "calibration_counts: {bias: 1, dark: 1, flat: 1}\n"
                     "calibration_exposure_time: 0.1\nreadout_overhead: 0.1\n")
    return config_root
