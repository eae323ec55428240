"""`dmcs alerts`: replay a night's alert files, watch a topic, filter it into another; bad
messages and bad filters are counted or refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dmcs.payloads.association.alerts import read_alerts
from dmcs.payloads.pipelines import PIPELINES
from dmcs.sal.domain import Domain
from dmcs.testing.processes import Cli


@pytest.fixture(scope="module")
def alert_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two visits of one small CCD through alert production: its alert files."""
    pipeline = PIPELINES["alert-production"](
        {"detectors": ["R22_S11"], "detector_size": 512}, tmp_path_factory.mktemp("night"))
    pipeline.setup()
    results = {item: pipeline.run_item(item) for item in pipeline.plan("visit=1..2")}
    return [Path(p) for p in pipeline.finalize(results)["alert_files"]]


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


async def test_replay_watch_and_filter_a_night_with_a_bad_message_on_the_topic(
    cli: Cli, domain: Domain, alert_files: list[Path]
) -> None:
    packets = [p for path in alert_files for p in read_alerts(path)]
    replayed = await cli.arun("alerts", "replay", *map(str, alert_files), "--to", "replayed",
                              "--rate", "500", timeout=120)
    assert replayed.returncode == 0, replayed.stderr
    assert json_lines(replayed.stdout) == [{"to": "replayed", "sent": len(packets)}]
    await domain.producer.send_and_wait("replayed", b"not an alert")

    watched = await cli.arun("alerts", "watch", "replayed", "--json", timeout=120)
    assert watched.returncode == 0, watched.stderr
    rows = json_lines(watched.stdout)
    assert sorted(r["diaSourceId"] for r in rows) == sorted(p["diaSourceId"] for p in packets)
    table = await cli.arun("alerts", "watch", "replayed", timeout=120)
    assert f"replayed: {len(packets)} alerts, 1 malformed" in table.stdout

    where = "diaSource.snr > 20 and diaObject.nDiaSources >= 1"
    filtered = await cli.arun("alerts", "filter", "bright", "--from", "replayed",
                              "--where", where, "--to", "bright", timeout=120)
    assert filtered.returncode == 0, filtered.stderr
    bright = [p for p in packets if p["diaSource"]["snr"] > 20]
    assert 0 < len(bright) < len(packets)
    assert json_lines(filtered.stdout) == [{
        "filter": "bright", "from": "replayed", "to": "bright", "read": len(packets),
        "matched": len(bright), "malformed": 1, "failed": 0}]
    assert "skipped a malformed message" in filtered.stderr
    out = json_lines((await cli.arun("alerts", "watch", "bright", "--json", timeout=120)).stdout)
    assert sorted(r["diaSourceId"] for r in out) == sorted(p["diaSourceId"] for p in bright)
    assert all(r["snr"] > 20 for r in out)

    # a filter that cannot be evaluated on visit 1's packets skips those and goes on
    risky = "diaSource.psfFlux / (diaSource.visit - 1) > 0"
    partial = await cli.arun("alerts", "filter", "risky", "--from", "replayed",
                             "--where", risky, "--to", "risky", timeout=120)
    counts = json_lines(partial.stdout)[0]
    first_visit = sum(p["diaSource"]["visit"] == 1 for p in packets)
    rising = sum(p["diaSource"]["visit"] == 2 and p["diaSource"]["psfFlux"] > 0 for p in packets)
    assert (counts["failed"], counts["matched"]) == (first_visit, rising)
    assert "division by zero" in partial.stderr


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("diaSource.snrr > 20", "unknown field 'diaSource.snrr'"),
        ("diaSourse.snr > 20", "unknown field 'diaSourse'"),
        ("diaSource.snr >", "syntax error in filter 'diaSource.snr >' at column"),
        ("__import__('os').system('true')", "not allowed in a filter"),
        ("diaSource.__class__", "unknown field 'diaSource.__class__'"),
    ],
)
def test_a_bad_filter_is_one_line_naming_what_is_wrong(cli: Cli, where: str,
                                                       message: str) -> None:
    result = cli("alerts", "filter", "f", "--where", where, "--to", "out")
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_replaying_a_file_that_is_not_an_alert_file_is_one_line(cli: Cli,
                                                                tmp_path: Path) -> None:
    bogus = tmp_path / "visit_000001.avro"
    bogus.write_text("hello")
    result = cli("alerts", "replay", str(bogus), "--to", "x", timeout=60)
    assert result.returncode == 2
    assert f"{bogus}: not an Avro alert file" in result.stderr
