"""The progress stream survives a writer that died mid-line, and followers still end."""

from __future__ import annotations

from pathlib import Path

from dmcs.mpi.progress import ProgressReader, ProgressTally, ProgressWriter, follow_progress


def test_torn_line_from_a_crashed_writer_is_skipped_and_the_stream_still_ends(
    tmp_path: Path,
) -> None:
    path = tmp_path / "progress.jsonl"
    rank_0 = ProgressWriter(path)
    rank_0.emit("job_started", total=2, ranks=1, items=["a", "b"])
    rank_0.emit("item_done", item="a", rank=0, seconds=0.1, result={}, done=1, failed=0, total=2)
    rank_0.close()
    with path.open("a") as crashed:
        crashed.write('{"event": "item_done", "item": "b", "ra')

    supervisor = ProgressWriter(path)
    supervisor.emit("job_ended", status="failed", exit_code=9, error="rank 0 died")
    supervisor.close()

    events = list(follow_progress(path, poll_s=0.01))
    assert [e["event"] for e in events] == ["job_started", "item_done", "job_ended"]
    tally = ProgressTally()
    for event in events:
        tally.add(event)
    assert (tally.total, tally.succeeded, tally.failed) == (2, 1, 0)
    assert tally.ended is not None
    assert tally.ended["error"] == "rank 0 died"


def test_reader_returns_only_complete_lines(tmp_path: Path) -> None:
    path = tmp_path / "progress.jsonl"
    reader = ProgressReader(path)
    assert reader.read_new() == []
    path.write_text('{"event": "job_started", "total": 1}\n{"event": "item_st')
    assert [e["event"] for e in reader.read_new()] == ["job_started"]
    with path.open("a") as stream:
        stream.write('arted", "item": "a", "rank": 0}\n')
    assert reader.read_new() == [{"event": "item_started", "item": "a", "rank": 0}]
