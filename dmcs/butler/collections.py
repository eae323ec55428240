"""The repository's collections, named as Rubin's repositories name theirs.

| collection | type | holds |
| --- | --- | --- |
| ``LSSTCam/raw/all`` | RUN | every raw the archiver ingested |
| ``LSSTCam/calib`` | CALIBRATION | masters certified for a validity range, found by time |
| ``LSSTCam/calib/<label>`` | RUN | the masters one calibration job made |
| ``LSSTCam/prompt/<dayobs>`` | RUN | one night's prompt-processing products |
| ``LSSTCam/prompt`` | CHAINED | every night's prompt RUN, newest first |
| ``LSSTCam/defaults`` | CHAINED | raws, calibrations and prompt products: where users look |
"""

from __future__ import annotations

from dmcs.butler.instrument import INSTRUMENT

RAW_RUN = f"{INSTRUMENT}/raw/all"
CALIBRATION = f"{INSTRUMENT}/calib"
PROMPT = f"{INSTRUMENT}/prompt"
DEFAULTS = f"{INSTRUMENT}/defaults"


def calibration_run(label: str) -> str:
    return f"{CALIBRATION}/{label}"


def prompt_run(dayobs: str | int) -> str:
    return f"{PROMPT}/{dayobs}"
