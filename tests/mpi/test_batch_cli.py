"""`dmcs batch` end to end: the operator's verbs, their output and exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from dmcs.cli.main import app
from dmcs.mpi.job_store import JobStatus
from dmcs.mpi.jobs import JobManager
from dmcs.mpi.registry import known_pipelines

VERBS = ("submit", "status", "list", "cancel", "retry", "pipelines")


class BatchCli:
    """`dmcs batch …` run in-process against the test's job store."""

    def __init__(self, store_path: Path) -> None:
        self._runner = CliRunner(env={"DMCS_JOB_STORE": str(store_path), "COLUMNS": "200"})

    def __call__(self, *arguments: str) -> Result:
        return self._runner.invoke(app, ["batch", *arguments])


@pytest.fixture
def dmcs(store_path: Path) -> BatchCli:
    return BatchCli(store_path)


def job_id_in(output: str) -> str:
    match = re.search(r"job (\d{6}-\d{6}-[0-9a-f]{4})", output)
    assert match, output
    return match.group(1)


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help(dmcs: BatchCli, verb: str) -> None:
    result = dmcs(verb, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.stdout
    assert len(result.stdout.split("Usage:")[1].strip()) > 40


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["submit", "no-such-pipeline"], "unknown pipeline 'no-such-pipeline'; known pipelines:"),
        (["submit", "selftest", "-q", "count=lots"], "bad data query for selftest:"),
        (["submit", "selftest", "-q", "count=2", "-c", "colour=red"], "unknown config field"),
        (["submit", "selftest", "-q", "count=2", "-c", "sleep_s=-1"], "'sleep_s' must be"),
        (["submit", "selftest", "-q", "count=2", "-c", "missing.yaml"], "neither key=value nor"),
        (["submit", "selftest", "-q", "count=2", "--ranks", "0"], "ranks must be at least 1"),
        (["status", "000000-000000-dead"], "unknown job id '000000-000000-dead'"),
        (["cancel", "000000-000000-dead"], "unknown job id"),
        (["retry", "000000-000000-dead"], "unknown job id"),
    ],
)
def test_operator_mistakes_give_one_line_and_exit_2(
    dmcs: BatchCli, arguments: list[str], message: str
) -> None:
    result = dmcs(*arguments)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr + result.stdout


def test_unknown_pipeline_lists_the_known_ones(dmcs: BatchCli) -> None:
    result = dmcs("submit", "nope")
    assert "selftest" in result.stderr
    assert "selftest" in dmcs("pipelines").stdout


def test_foreground_submit_with_yaml_config_shows_progress_and_succeeds(
    dmcs: BatchCli, tmp_path: Path
) -> None:
    config = tmp_path / "job.yaml"
    config.write_text("sleep_s: 0.1\nwork: 500\n")
    result = dmcs("submit", "selftest", "-n", "2", "-q", "count=4", "-c", str(config))

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "4/4" in result.stdout
    assert "succeeded: 4/4 items succeeded" in result.stdout


def test_failed_item_then_retry_from_the_cli(dmcs: BatchCli, tmp_path: Path) -> None:
    failing = dmcs(
        "submit", "selftest", "-n", "2", "-q", "a,b,c",
        "-c", "fail_once_items=[b]", "-c", f"marker_dir={tmp_path}",
    )  # fmt: skip
    assert failing.exit_code == 1
    assert "failed b: RuntimeError: selftest item b failed on its first attempt" in failing.stdout
    job_id = job_id_in(failing.stdout)
    assert f"dmcs batch retry {job_id}" in failing.stdout

    detail = dmcs("status", job_id, "--tracebacks")
    assert "failed b on rank" in detail.stdout
    assert "Traceback (most recent call last)" in detail.stdout

    retried = dmcs("retry", job_id)
    assert retried.exit_code == 0, retried.stdout
    assert f"retries {job_id}" in retried.stdout
    assert "succeeded: 1/1 items succeeded" in retried.stdout


def test_detached_submit_then_status_list_and_cancel(dmcs: BatchCli, store_path: Path) -> None:
    submitted = dmcs("submit", "selftest", "-q", "count=50", "-c", "sleep_s=0.5", "--detach")
    assert submitted.exit_code == 0
    job_id = job_id_in(submitted.stdout)
    assert "submitted" in submitted.stdout

    listed = dmcs("list")
    assert job_id in listed.stdout
    assert re.search(r"(queued|running)", listed.stdout)
    detail = dmcs("status", job_id)
    assert "count=50" in detail.stdout

    cancelled = dmcs("cancel", job_id)
    assert cancelled.exit_code == 0
    assert f"job {job_id} is now cancelled" in cancelled.stdout
    assert JobManager(store_path).get(job_id).status is JobStatus.CANCELLED
    assert "cancelled" in dmcs("status").stdout
    assert "had already ended cancelled" in dmcs("cancel", job_id).stdout


def test_pipelines_shows_what_each_makes_and_its_data_queries(dmcs: BatchCli) -> None:
    shown = dmcs("pipelines").stdout
    for name, pipeline in known_pipelines().items():
        row = next(line for line in shown.splitlines() if f" {name} " in line)
        assert pipeline.summary[:40] in row
        assert pipeline.data_query_help[:40] in row
    assert "count=N" in shown
    assert "visit=1..3 detector=R22_S11,R22_S12" in shown
