"""The pipeline interface the MPI layer relies on: plans, failures, determinism."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dmcs.payloads.pipelines import PIPELINES
from dmcs.payloads.storage import read_bundle
from tests.payloads.conftest import PayloadRun


def test_registry_offers_the_payloads_the_mpi_layer_runs() -> None:
    assert {"alert-production", "calib-bias", "calib-dark", "calib-flat"} <= PIPELINES.keys()
    for name, pipeline_class in PIPELINES.items():
        assert pipeline_class.name == name


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"detector_size": 500}, "detector_size"),
        ({"detectors": ["R00_S11"]}, "detectors"),
        ({"output_format": "png"}, "output_format"),
        ({"detector_sise": 512}, "detector_sise"),
        ({"association_radius_arcsec": -1}, "association_radius_arcsec"),
    ],
)
def test_bad_config_names_the_field(tmp_path: Path, config: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=f"{field}: "):
        PIPELINES["alert-production"](config, tmp_path)


def test_plan_expands_visits_and_configured_detectors(tmp_path: Path) -> None:
    pipeline = PIPELINES["alert-production"]({}, tmp_path)
    assert pipeline.plan("visit=2 detector=R22_S12,R22_S11") == [
        "visit=2 detector=R22_S11",
        "visit=2 detector=R22_S12",
    ]
    assert len(pipeline.plan("visit=1..3")) == 12
    assert PIPELINES["calib-flat"]({}, tmp_path).plan("") == [
        "detector=R22_S11",
        "detector=R22_S12",
        "detector=R22_S21",
        "detector=R22_S22",
    ]
    everything = PIPELINES["calib-bias"]({"detectors": ["all"]}, tmp_path).plan("")
    assert len(everything) == 189


@pytest.mark.parametrize(
    ("pipeline", "query", "message"),
    [
        ("alert-production", "detector=R22_S11", "needs visits"),
        ("alert-production", "visit=abc", "bad visit 'abc'"),
        ("alert-production", "visit=3..1", "bad visit '3..1'"),
        ("alert-production", "visit=1 filter=r", "unknown key 'filter'"),
        ("alert-production", "visit=1 detector=R22_S00", "not configured"),
        ("alert-production", "visit", "expected key=value"),
        ("calib-bias", "visit=1", "must not name visits"),
    ],
)
def test_bad_data_query_is_refused_with_a_clear_message(
    tmp_path: Path, pipeline: str, query: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        PIPELINES[pipeline]({}, tmp_path).plan(query)


def test_results_are_json_and_independent_of_which_rank_ran_what(
    tmp_path: Path, default_alert_run: PayloadRun
) -> None:
    """A fresh pipeline running one item alone reproduces the shared run's item exactly."""
    item = "visit=2 detector=R22_S21"
    alone = PIPELINES["alert-production"]({}, tmp_path)
    alone.setup()
    alone.run_item("visit=3 detector=R22_S11")
    result = alone.run_item(item)
    original = default_alert_run.results[item]
    strip = {k: v for k, v in result.items() if k != "outputs"}
    assert json.loads(json.dumps(strip)) == {k: v for k, v in original.items() if k != "outputs"}
    mine = read_bundle(next(Path(p) for p in result["outputs"] if "/diasrc/" in p))
    theirs = read_bundle(next(Path(p) for p in original["outputs"] if "/diasrc/" in p))
    assert np.array_equal(mine.arrays["diasources"], theirs.arrays["diasources"])


def test_finalize_gives_the_same_science_whatever_order_items_finished(
    tmp_path: Path, default_alert_run: PayloadRun
) -> None:
    reversed_results = dict(reversed(list(default_alert_run.results.items())))
    pipeline = PIPELINES["alert-production"](
        {"apdb_url": f"sqlite:///{tmp_path / 'other.sqlite3'}"}, tmp_path
    )
    summary = pipeline.finalize(reversed_results)
    expected = default_alert_run.summary
    for key in (
        "n_alerts",
        "n_new_objects",
        "n_updated_objects",
        "n_dia_objects_in_apdb",
        "completeness_above_10sigma",
    ):
        assert summary[key] == expected[key], key
    assert summary["false_diasources_per_ccd"] == expected["false_diasources_per_ccd"]


def test_missing_calibrations_fail_setup_with_what_to_run(tmp_path: Path) -> None:
    pipeline = PIPELINES["alert-production"]({"calib_dir": str(tmp_path / "nowhere")}, tmp_path)
    with pytest.raises(FileNotFoundError, match="run calib-bias, calib-dark and calib-flat"):
        pipeline.setup()
