"""User mistakes: one plain line on stderr, a non-zero exit status, never a traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from dmcs.cli.errors import ExitCode
from dmcs.cli.main import app
from dmcs.testing.processes import Cli

VERBS = ("broker", "run", "state", "command", "watch", "status", "demo")


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_and_option_has_help(verb: str) -> None:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, [verb, "--help"])
    assert result.exit_code == 0
    options = [line for line in result.stdout.splitlines() if line.lstrip("│ ").startswith("--")]
    assert options
    assert all(len(line.split("  ")) > 2 for line in options), options


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        (["state", "Nope:1", "enabled"], ExitCode.USAGE,
         "unknown component 'Nope'; known components: "),
        (["run", "Nope"], ExitCode.USAGE, "unknown component 'Nope'; known components: "),
        (["command", "Test:x", "enable"], ExitCode.USAGE, "bad index 'x' in 'Test:x'"),
        (["command", "Test", "enable"], ExitCode.USAGE, "Test is indexed: name one instance"),
        (["run", "Test"], ExitCode.USAGE, "Test is indexed"),
        (["command", "Test:1", "dance"], ExitCode.USAGE,
         "Test has no command 'dance'; commands: abort, disable, enable"),
        (["command", "Test:1", "setScalars", "colour=red"], ExitCode.USAGE,
         "setScalars has no field 'colour'; fields: boolean0 (boolean), byte0 (byte)"),
        (["command", "Test:1", "setScalars", "int0=lots"], ExitCode.USAGE,
         "bad value for setScalars field int0 (int): Input should be a valid integer"),
        (["command", "Test:1", "setArrays", "int0=1,2"], ExitCode.USAGE,
         "bad value for setArrays field int0 (int[5])"),
        (["command", "Test:1", "setScalars", "int0"], ExitCode.USAGE,
         "'int0' is not field=value"),
        (["watch", "Test", "weather"], ExitCode.USAGE, "Test has no event or telemetry 'weather'"),
        (["run", "Test", "--index", "1", "--override", "x.yaml"], ExitCode.USAGE,
         "--override applies when starting in DISABLED or ENABLED"),
        (["status", "--broker", "127.0.0.1:1"], ExitCode.BROKER,
         "cannot reach the Kafka broker at 127.0.0.1:1"),
        (["state", "Test:1", "enabled", "--subname", "bad name"], ExitCode.USAGE,
         "topic subname 'bad name' may hold only"),
    ],
)
def test_mistakes_are_one_line(cli: Cli, arguments: list[str], code: int, message: str) -> None:
    result = cli(*arguments)
    assert result.returncode == code, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("verb", [["state", "Test:9", "enabled"], ["command", "Test:9", "enable"]])
def test_commanding_a_component_that_is_not_running(cli: Cli, verb: list[str]) -> None:
    result = cli(*verb)
    assert result.returncode == ExitCode.NOT_RUNNING
    assert "Test:9 is not running (never seen on subname" in result.stderr
    assert "start it with `dmcs run Test --index 9`" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["state", "Test:1", "enabled", "--bogus"],
         "error: No such option: --bogus; see `dmcs state --help`"),
        (["state"], "error: Missing argument 'component'; see `dmcs state --help`"),
        (["run", "Test", "--index", "1", "--state", "asleep"],
         "error: Invalid value for '--state': "),
        (["batch", "submit", "selftest", "--ranks", "many"],
         "error: Invalid value for '--ranks' / '-n': "),
        (["dance"], "error: No such command 'dance'; see `dmcs --help`"),
        (["batch", "dance"],
         "error: No such command 'dance'. Did you mean 'cancel'?; see `dmcs batch --help`"),
    ],
)
def test_usage_mistakes_are_one_line_with_exit_2(arguments: list[str], message: str) -> None:
    """Argument parsing (before any verb runs) keeps the one-line promise of docs/cli.md."""
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stdout == ""
