"""Archiver fixtures: a site (tiny CCDs, paths under the test's directory) and its parts."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmcs.sims.site_config import write_site_configs

DETECTORS = ["R22_S11", "R22_S12"]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """Config root for camera, header service and archiver; data under tmp_path/data."""
    config_root = tmp_path / "config"
    write_site_configs(config_root, tmp_path / "data", detectors=DETECTORS,
                       detector_size=128, exposure_time_scale=0.0)
    archiver = config_root / "Archiver" / "_init.yaml"
    archiver.write_text(archiver.read_text() + "header_wait: 2.0\n")
    return config_root
