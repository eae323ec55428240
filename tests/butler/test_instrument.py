"""LSSTCam's numbering, as obs_lsst has it: detector ids, exposure ids, filters."""

from __future__ import annotations

import pytest

from dmcs.butler.instrument import (
    detector_id,
    exposure_id,
    filter_records,
    physical_filter,
    science_detectors,
)


def test_detector_ids_are_lsstcams() -> None:
    ids = {d.full_name: d.id for d in science_detectors()}
    assert len(ids) == 189 and sorted(ids.values()) == list(range(189))
    assert (ids["R01_S00"], ids["R22_S11"], ids["R43_S22"]) == (0, 94, 188)
    assert detector_id("R10_S00") == 27  # R00 (a corner raft) has no science CCDs


def test_an_unknown_detector_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="unknown detector 'R00_S11'"):
        detector_id("R00_S11")


def test_exposure_ids_are_dayobs_times_100000_plus_seqnum() -> None:
    assert exposure_id("20261130", 12) == 2026113000012


def test_bias_and_dark_go_through_the_empty_filter_and_the_unknown_is_said() -> None:
    assert physical_filter("BIAS", "r") == physical_filter("DARK", "") == "empty"
    assert physical_filter("OBJECT", "r") == "r"
    assert physical_filter("OBJECT", "") == physical_filter("FLAT", "Q") == "unknown"
    assert {r["name"]: r["band"] for r in filter_records()}["empty"] == "white"
