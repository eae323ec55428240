"""Heartbeats fall on the wall clock's whole seconds, about one a second, whatever a write took."""

from __future__ import annotations

import pytest

from dmcs.csc.base_csc import HEARTBEAT_INTERVAL, next_heartbeat


@pytest.mark.parametrize(("now", "due"), [
    (100.0, 101.0),     # written on the second: the next one
    (100.004, 101.0),   # a write that took a few ms
    (100.6, 101.0),     # a first beat at any moment: the next whole second
    (99.9996, 101.0),   # woke a moment early: this beat counts for 100, the next is 101
])
def test_next_heartbeat_is_on_a_whole_interval(now: float, due: float) -> None:
    assert next_heartbeat(now) == pytest.approx(due)


def test_beats_are_never_more_than_a_little_over_an_interval_apart() -> None:
    for step in range(500):
        now = 1_700_000_000.0 + step * 0.0137
        due = next_heartbeat(now)
        assert 0.1 * HEARTBEAT_INTERVAL <= due - now <= 1.1 * HEARTBEAT_INTERVAL + 1e-6
        assert due / HEARTBEAT_INTERVAL == pytest.approx(round(due / HEARTBEAT_INTERVAL))
