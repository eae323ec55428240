"""Heartbeats fall on the wall clock's whole seconds, one per second, whatever a write took."""

from __future__ import annotations

import pytest

from dmcs.csc.base_csc import HEARTBEAT_INTERVAL, next_heartbeat


@pytest.mark.parametrize(("now", "due"), [
    (100.0, 101.0),     # written on the second: the next one
    (100.004, 101.0),   # a write that took a few ms
    (100.49, 101.0),
    (99.9996, 101.0),   # woke a moment early: this beat counts for 100, the next is 101
    (100.6, 102.0),     # a write held up past half a second: that second is skipped
])
def test_next_heartbeat_is_on_a_whole_interval(now: float, due: float) -> None:
    assert next_heartbeat(now) == pytest.approx(due)


def test_the_next_beat_is_half_to_one_and_a_half_intervals_away() -> None:
    for step in range(500):
        now = 1_700_000_000.0 + step * 0.0137
        due = next_heartbeat(now)
        assert HEARTBEAT_INTERVAL / 2 <= due - now <= 1.5 * HEARTBEAT_INTERVAL
        assert due / HEARTBEAT_INTERVAL == pytest.approx(round(due / HEARTBEAT_INTERVAL))
