"""ISR's calibrations from the masters certified in a Butler repository (LSSTCam/calib).

What prompt processing calls when its configuration names ``calib_butler``: the bias, dark
and flat valid now for a detector, and which are missing (to refuse a job before it starts).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lsst.daf.butler import Butler

from dmcs.butler.calibrations import MasterMissing, find_master, load_masters
from dmcs.butler.repository import CALIBRATIONS
from dmcs.payloads.calibration.calibration import calibrations_from_products
from dmcs.payloads.isr.isr import MasterCalibrations
from dmcs.sal.tai import current_tai


@cache
def _butler(repo: Path) -> Butler:
    return Butler.from_config(str(repo))


def certified_calibrations(repo: Path, detector: str) -> MasterCalibrations:
    bias, dark, flat = load_masters(_butler(repo), detector, current_tai())
    return calibrations_from_products(bias, dark, flat)


def missing_masters(repo: Path, detectors: list[str]) -> list[str]:
    """One line per (kind, detector) with no master certified now."""
    now = current_tai()
    missing = []
    for detector in detectors:
        for kind in CALIBRATIONS:
            try:
                find_master(_butler(repo), kind, detector, now)
            except MasterMissing as err:
                missing.append(str(err))
    return missing
