"""The cluster section of the night report, from what the watch saw (no cluster needed)."""

from __future__ import annotations

from dmcs.night.cluster_watch import SETTLE_S, ClusterWatch, _Drill
from dmcs.sal.config import SalConfig
from dmcs.sal.domain import Domain


def test_a_night_without_drills_reports_its_totals() -> None:
    watch = ClusterWatch(Domain(SalConfig(subname="quiet")), "127.0.0.1:9092", 3)
    watch.seen.round_trips += [(1.0, 0.004, True), (2.0, 0.006, True)]
    summary = watch.summary()
    assert summary["drills"] == [] and summary["probe_commands"] == 2
    assert summary["longest_command_s"] == 0.006 and summary["probe_failed"] == 0


def test_each_drill_counts_until_it_settled_or_the_next_began() -> None:
    watch = ClusterWatch(Domain(SalConfig(subname="drills")), "127.0.0.1:9092", 3)
    watch.drills = [_Drill("first", 100.0, 110.0), _Drill("second", 115.0, 120.0)]
    watch.seen.round_trips += [(105.0, 7.0, True), (116.0, 3.0, False),
                               (120.0 + SETTLE_S + 1, 9.0, True)]
    watch.seen.leader_moves += [(101.0, "lsst.drills.DMCS.command_start", 1, 2)]
    first, second = watch.summary()["drills"]
    assert (first["commands"], first["longest_command_s"], first["leader_changes"]) == (1, 7.0, 1)
    assert (second["commands"], second["commands_failed"], second["longest_command_s"]) \
        == (1, 1, 3.0)
