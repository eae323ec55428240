"""The per-visit state machine and its persistence: every state x trigger, any event order,
and a book reopened after its writer died resumes every visit where it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmcs.services.dmcs.visit_book import VisitBook
from dmcs.state_machines.visit import (
    TRANSITIONS,
    VisitMachine,
    VisitState,
    VisitTransitionNotAllowed,
)

TRIGGERS = sorted({t for t, _, _ in TRANSITIONS})


@pytest.mark.parametrize("state", list(VisitState))
@pytest.mark.parametrize("trigger", TRIGGERS)
def test_every_state_and_trigger(state: VisitState, trigger: str) -> None:
    machine = VisitMachine(state)
    allowed = {(t, s): d for t, s, d in TRANSITIONS}
    if (trigger, state) in allowed:
        assert machine.fire(trigger) == allowed[(trigger, state)]
    else:
        with pytest.raises(VisitTransitionNotAllowed, match=trigger):
            machine.fire(trigger)
        assert machine.state == state


def _observe(book: VisitBook, group: str, images: list[str]) -> None:
    for image in images:
        book.integrating(group, image)
        book.read_out(group, image)


def test_visit_walks_to_alerted_even_when_alerts_come_before_archiving(tmp_path: Path) -> None:
    seen: list[str] = []
    book = VisitBook(tmp_path / "visits.jsonl", listener=lambda r: seen.append(r.state))
    book.announce("g1", nimages=2, ccds=2)
    _observe(book, "g1", ["im1", "im2"])
    book.processed("g1", alerts=5, latency=3.0)
    assert book.visits["g1"].state == VisitState.READ_OUT
    for image in ("im1", "im2"):
        for ccd in ("R22_S11", "R22_S12"):
            book.archived(image, ccd)
    assert book.visits["g1"].state == VisitState.ALERTED
    assert seen == ["announced", "integrating", "read_out", "archived", "processed", "alerted"]


def test_duplicates_are_counted_not_double_counted(tmp_path: Path) -> None:
    book = VisitBook(tmp_path / "visits.jsonl")
    book.announce("g1", nimages=1, ccds=1)
    _observe(book, "g1", ["im1"])
    book.archived("im1", "R22_S11")
    book.archived("im1", "R22_S11")
    book.processed("g1", alerts=5, latency=3.0)
    book.processed("g1", alerts=7, latency=9.0)
    record = book.visits["g1"]
    assert (record.duplicates, record.alert_reports, record.alerts) == (1, 2, 5)


def test_late_then_caught_up_and_overdue(tmp_path: Path) -> None:
    book = VisitBook(tmp_path / "visits.jsonl")
    book.announce("g1", nimages=1, ccds=1)
    _observe(book, "g1", ["im1"])
    assert [r.groupId for r in book.overdue(60.0, now=book.visits["g1"].read_out_at + 61)] == ["g1"]
    book.late("g1", "deadline passed")
    assert book.catch_up_visits()[0].late_reason == "deadline passed"
    book.caught_up("g1")
    assert book.visits["g1"].state == VisitState.CAUGHT_UP
    book.late("g1", "again")
    assert book.visits["g1"].state == VisitState.CAUGHT_UP


def test_alerted_visit_with_ccds_left_goes_to_the_catch_up_for_those_ccds(
    tmp_path: Path,
) -> None:
    book = VisitBook(tmp_path / "visits.jsonl")
    book.announce("g1", nimages=1, ccds=3)
    book.announce("g2", nimages=1, ccds=3)
    for group, image in (("g1", "im1"), ("g2", "im2")):
        _observe(book, group, [image])
        for ccd in ("R22_S11", "R22_S12", "R22_S21"):
            book.archived(image, ccd)
    book.processed("g1", alerts=4, latency=3.0, ccds_left=1)  # one CCD late or failed
    book.processed("g2", alerts=6, latency=2.0)
    assert book.visits["g1"].state == VisitState.ALERTED, "alerted with the CCDs that made it"
    assert [r.groupId for r in book.catch_up_visits()] == ["g1"]
    book.caught_up("g1")
    assert book.visits["g1"].state == VisitState.ALERTED and book.visits["g1"].ccds_caught_up
    assert book.catch_up_visits() == []
    assert VisitBook(tmp_path / "visits.jsonl").visits["g1"].ccds_caught_up, "persisted"


def test_reopened_book_resumes_and_skips_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "visits.jsonl"
    book = VisitBook(path)
    book.announce("g1", nimages=1, ccds=2)
    _observe(book, "g1", ["im1"])
    book.archived("im1", "R22_S11")
    book.announce("g2", nimages=1, ccds=2)
    book._file.write('{"groupId": "g2", "state": "integ')  # a kill in mid-write
    book._file.flush()
    reopened = VisitBook(path)
    assert reopened.visits["g1"].state == VisitState.READ_OUT
    assert reopened.visits["g2"].state == VisitState.ANNOUNCED
    reopened.archived("im1", "R22_S12")
    assert reopened.visits["g1"].state == VisitState.ARCHIVED
    assert len(path.read_text().splitlines()) == 4  # watermarks, g1, g2, then g1 again


def test_docs_diagram_matches_the_table() -> None:
    page = (Path(__file__).parents[3] / "docs" / "night.md").read_text()
    drawn = {line.strip() for line in page.splitlines() if "-->" in line and ":" in line}
    table = {f"{src} --> {dst}: {trigger}" for trigger, src, dst in TRANSITIONS}
    assert table <= drawn, f"docs/night.md misses {sorted(table - drawn)}"


def test_ccd_archived_before_its_camera_event_is_counted(tmp_path: Path) -> None:
    book = VisitBook(tmp_path / "visits.jsonl")
    book.announce("g1", nimages=1, ccds=1)
    book.archived("im1", "R22_S11")
    book.archived("im9", "R22_S11")  # an image of no visit: held, never counted
    _observe(book, "g1", ["im1"])
    assert book.visits["g1"].state == VisitState.ARCHIVED
    assert book.visits["g1"].archived == ["im1/R22_S11"]
