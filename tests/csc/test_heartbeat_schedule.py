"""Heartbeats come about a second apart and settle on the wall clock's whole seconds."""

from __future__ import annotations

import pytest

from dmcs.csc.base_csc import HEARTBEAT_INTERVAL, next_heartbeat


@pytest.mark.parametrize(("now", "due"), [
    (100.0, 101.0),     # written on the second: the next one
    (100.004, 101.0),   # a write that took a few ms
    (99.9996, 101.0),   # woke a moment early: this beat counts for 100, the next is 101
    (100.3, 101.1),     # from another phase: pulled towards the whole second, a gap of 0.8
    (100.6, 101.8),     # ... or of 1.2
])
def test_next_heartbeat(now: float, due: float) -> None:
    assert next_heartbeat(now) == pytest.approx(due)


@pytest.mark.parametrize("phase", [i / 20 for i in range(20)])
def test_beats_settle_on_whole_seconds_a_second_or_so_apart(phase: float) -> None:
    now = 1_700_000_000.0 + phase
    for _ in range(4):
        due = next_heartbeat(now)
        assert 0.8 * HEARTBEAT_INTERVAL - 1e-6 <= due - now <= 1.2 * HEARTBEAT_INTERVAL + 1e-6
        now = due
    assert now / HEARTBEAT_INTERVAL == pytest.approx(round(now / HEARTBEAT_INTERVAL))
