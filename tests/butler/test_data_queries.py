"""Data queries resolved against the raws the repository holds."""

from __future__ import annotations

from pathlib import Path

from lsst.daf.butler import Butler

from dmcs.butler.data_queries import visit_detectors
from tests.butler.conftest import ingest_visit


def test_a_query_selects_the_visits_and_detectors_with_raws(repo: Butler, repo_root: Path) -> None:
    ingest_visit(repo, repo_root, 1, ["R22_S11", "R22_S12"], snaps=2)
    ingest_visit(repo, repo_root, 3, ["R22_S11"])
    assert visit_detectors(repo, None, None) == [(1, "R22_S11"), (1, "R22_S12"), (3, "R22_S11")]
    assert visit_detectors(repo, [1, 2], ["R22_S12"]) == [(1, "R22_S12")]
    assert visit_detectors(repo, [2], None) == []
    visit = repo.query_dimension_records("visit", instrument="LSSTCam", visit=1)[0]
    assert visit.exposure_time == 30.0  # both snaps
