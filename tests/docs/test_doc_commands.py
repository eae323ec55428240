"""Every `dmcs …` command shown in README.md and docs/*.md runs as written.

Commands come from the fenced code blocks (lines starting `dmcs ` or `$ dmcs `, `\\`
continuations joined) and from the first column of the README's tables. Each runs through
bash, in document order, in one scratch directory holding the files the docs name, with this
test's broker and subname, a private DMCS_HOME and embedded-broker port. Expectations come
from the page: a command shown followed by an `error: …` line must print that line (numbers
may differ; a trailing `…` ends the comparison) and exit non-zero; any other must exit 0,
except that a state or command for a component this test does not run must get as far as
"is not running" (exit 4) — so its component, command and fields exist.

Not run, each with its reason below: commands that by nature run until stopped (`dmcs run`,
`dmcs watch` without `--count`, `dmcs night`), synopses with placeholders (`JOB`, `DIR`,
`[options]`) or verb lists (`status / list`), and the few listed in NOT_RUN.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import pytest

from dmcs.cli.errors import ExitCode
from dmcs.sal.broker import BrokerProcess
from dmcs.sal.config import BROKER_ENV, BROKER_KIND_ENV, REGISTRY_ENV
from dmcs.sal.liveness import HEARTBEAT_ALIVE_SECONDS
from dmcs.sal.registry.process import RegistryProcess
from dmcs.testing import unique_subname
from dmcs.testing.processes import Cli, CscProcess, CscProcesses

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
VENV_BIN = str(Path(sys.executable).parent)
RUN_TIMEOUT_S = 240

#: Words that stand for what the reader fills in.
PLACEHOLDERS = {"PIPELINE", "JOB", "N", "DIR", "URL", "FILE"}

#: Files the docs' commands name, as a site would have them.
FILES = {
    "sleep.yaml": "duration: 0.2\nsteps: 2\n",
    "site.yaml": "seed: 7\n",
}

#: Commands (as keyed by `DocCommand.key`) that are not run here, and why.
NOT_RUN = {
    "dmcs command Test:1 wait duration=30 -> error": (
        "needs the CSC killed mid-command: "
        "tests/cli/test_state_and_command.py::test_killing_the_csc_mid_command_gives_a_prompt_noack"
    ),
    "dmcs script run night --config night.yaml": (
        "drives every service through a night; dmcs night runs it in tests/night"
    ),
    "dmcs command Script:1 pause --subname night004355b3d1 --broker 127.0.0.1:51441": (
        "addresses the private broker of a running `dmcs night`"
    ),
    "dmcs command Script:1 resume --subname night004355b3d1 --broker 127.0.0.1:51441": (
        "addresses the private broker of a running `dmcs night`"
    ),
    "dmcs registry --port 8081": (
        "serves in the foreground until stopped: tests/sal/test_registry.py runs it "
        "(test_dmcs_registry_serves_in_the_foreground)"
    ),
    "dmcs batch submit calib-bias --ranks 64 --launcher hostfile --hostfile /etc/dmcs/hosts": (
        "a site's 64-rank hostfile; the hostfile launcher runs in tests/mpi/test_launch_command.py"
    ),
    **{
        f"dmcs batch submit calib-{kind} -n 2 -c calib_dir=/data/calib"
        " -c 'detectors=[R22_S00, R22_S01, R22_S02]'": (
            "writes the site path /data/calib; the calibration chain runs in tests/payloads"
        )
        for kind in ("bias", "dark", "flat")
    },
    "dmcs batch submit alert-production -n 2 -q 'visit=1..2' -c calib_dir=/data/calib"
    " -c 'detectors=[R22_S00, R22_S01, R22_S02]'": (
        "reads the site path /data/calib; the calibrated run is in tests/payloads"
    ),
}


class Given(Enum):
    """What the Test:1 CSC must be doing before a command runs."""

    NOTHING = "nothing"
    STANDBY = "standby"
    ENABLED = "enabled"
    STOPPED = "stopped"  # ran, and is not running now
    ABSENT = "absent"  # not running now


#: Commands on Test:1, by key, and the state the page shows them in.
GIVEN = {
    "dmcs demo": Given.ABSENT,  # the demo runs its own Test:1 (under $LSST_TOPIC_SUBNAME here)
    "dmcs command Test:1 setScalars int0=3 string0=hi": Given.ENABLED,
    "dmcs run Test --index 1 -> error": Given.STANDBY,
    "dmcs state Test:1 enabled": Given.STANDBY,
    "dmcs state Test:1 offline": Given.ENABLED,
    "dmcs state Test:1 disabled --override nosuch.yaml -> error": Given.STANDBY,
    "dmcs state Test:1 enabled -> error": Given.STOPPED,
    "dmcs command Test:1 setScalars int0=42 double0=2.5 string0=hello": Given.ENABLED,
    "dmcs command Test:1 setArrays int0=1,2,3,4,5": Given.ENABLED,
    "dmcs command Test:1 wait duration=1": Given.ENABLED,
    "dmcs command Test:1 enable; echo \"exit $?\" -> error": Given.ENABLED,
}


@dataclass(frozen=True)
class DocCommand:
    """One command on a page, and the `error:` line the page shows after it, if any."""

    source: str
    text: str
    error: str | None

    @property
    def key(self) -> str:
        """How the tables below name it: the words as written, `-> error` if one is shown."""
        words = " ".join(self.text.split())
        return f"{words} -> error" if self.error else words

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.text.split(";")[0])


def _block_commands(page: Path) -> Iterator[DocCommand]:
    lines = page.read_text().splitlines()
    in_block = False
    for number, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            in_block = not in_block
            continue
        found = re.match(r"\s*(?:\$ )?(dmcs\s.*)$", line) if in_block else None
        if found is None:
            continue
        text, end = found.group(1), number
        while text.rstrip().endswith("\\"):
            end += 1
            text = f"{text.rstrip()[:-1].rstrip()} {lines[end].strip()}"
        yield DocCommand(
            f"{page.name}:{number + 1}", _without_comment(text), _shown_error(lines[end + 1 :])
        )


def _without_comment(text: str) -> str:
    return re.sub(r"\s+#\s.*$", "", text).strip()


def _shown_error(after: list[str]) -> str | None:
    """The `error:` line of the command's output as shown, up to the next command."""
    for line in after:
        if line.startswith(("```", "$ ")) or re.match(r"\s*dmcs\s", line):
            return None
        if line.startswith("error: "):
            return line
    return None


def _table_commands(page: Path) -> Iterator[DocCommand]:
    for number, line in enumerate(page.read_text().splitlines()):
        if line.startswith("|"):
            first_cell = line.split("|")[1]
            for text in re.findall(r"`(dmcs [^`]*)`", first_cell):
                yield DocCommand(f"{page.name}:{number + 1}", text, None)


def doc_commands() -> list[DocCommand]:
    commands = [command for page in PAGES for command in _block_commands(page)]
    return [*_table_commands(ROOT / "README.md"), *commands]


DOC_COMMANDS = doc_commands()


def why_not_run(command: DocCommand) -> str | None:
    """The reason a command is not run here, or None to run it."""
    if command.key in NOT_RUN:
        return NOT_RUN[command.key]
    if " / " in command.text:
        return "a list of verbs, each shown on its own elsewhere"
    if any(word in PLACEHOLDERS or word.startswith("[") for word in command.text.split()):
        return "a synopsis: its capitals and [brackets] are placeholders"
    verb = command.argv[1]
    if command.error is None and verb == "run":
        return "`dmcs run` serves until exitControl or Ctrl-C (this test starts Test:1 so)"
    if verb == "watch" and not {"--count", "--timeout"} & set(command.argv):
        return "`dmcs watch` tails until Ctrl-C; --count is tested in tests/cli"
    if verb == "night":
        return "`dmcs night` runs a whole night; tests/night runs it"
    if verb in ("efd", "report"):
        return "reads an EFD (InfluxDB) holding a night; tests/telemetry runs these on one"
    return None


def expected_not_running(command: DocCommand) -> bool:
    """A state or command for a component other than Test, which this test does not run."""
    argv = command.argv
    return (
        command.error is None
        and argv[1] in ("state", "command")
        and argv[2].split(":")[0] != "Test"
    )


def same_line(shown: str, printed: str) -> bool:
    """Equal but for numbers; a trailing `…` on the page ends the comparison."""

    def masked(text: str) -> str:
        return re.sub(r"\d+(\.\d+)?", "N", text)

    if shown.endswith("…"):
        return masked(printed).startswith(masked(shown[:-1]))
    return masked(printed) == masked(shown)


class Stage:
    """The scratch directory, environment and Test:1 CSC the commands run against."""

    def __init__(self, root: Path, sal_env: dict[str, str]) -> None:
        self.root = root
        self.env = {
            **os.environ,
            **sal_env,
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "LSST_TOPIC_SUBNAME": unique_subname("docs"),
            "DMCS_HOME": str(root / "home"),
            "DMCS_EMBEDDED_BROKER_PORT": str(_free_port()),
            "DMCS_EMBEDDED_REGISTRY_PORT": str(_free_port()),
            "COLUMNS": "200",
            "PYTHONFAULTHANDLER": "1",
        }
        for key in ("DMCS_CONFIG_DIR", "DMCS_JOB_STORE"):
            self.env.pop(key, None)
        for name, content in FILES.items():
            (root / name).write_text(content)
        self.cli = Cli(self.env)
        self.cscs = CscProcesses(self.cli, root)
        self.test_csc: CscProcess | None = None

    def run(self, text: str) -> subprocess.CompletedProcess[str]:
        """Run `text` through bash; one that hangs fails the test with its Python stacks."""
        with subprocess.Popen(
            ["bash", "-c", text], cwd=self.root, env=self.env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        ) as proc:  # fmt: skip
            try:
                stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGABRT)  # faulthandler prints each thread's stack
                stdout, stderr = proc.communicate(timeout=30)
                pytest.fail(f"`{text}` did not end within {RUN_TIMEOUT_S} s:\n{stderr}")
        return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)

    def given(self, want: Given) -> None:
        if want is Given.NOTHING:
            return
        running = self.test_csc is not None and self.test_csc.proc.poll() is None
        if want is Given.STOPPED or (want is Given.ABSENT and running):
            self._walk("offline")
            self._until_gone()
        elif want is not Given.ABSENT:
            self._walk(want.value)

    def _until_gone(self) -> None:
        """Wait for Test:1 to exit and its last heartbeat to age past "alive".

        A Test:1 started sooner is refused: its last heartbeat still looks alive (and, in the
        kit's twin-start check, counts as a rival claim).
        """
        assert self.test_csc is not None
        self.test_csc.proc.wait(30)
        time.sleep(HEARTBEAT_ALIVE_SECONDS)

    def _walk(self, state: str) -> None:
        """Walk Test:1 to `state`, starting a fresh one if none runs (or it went OFFLINE)."""
        alive = self.test_csc is not None and self.test_csc.proc.poll() is None
        if alive and self.cli("state", "Test:1", state).returncode == 0:
            return
        if self.test_csc is not None:
            self._until_gone()
        self.test_csc = self.cscs.run("Test", "--index", "1")
        walked = self.cli("state", "Test:1", state)
        assert walked.returncode == 0, walked.stderr

    def close(self) -> None:
        self.cscs.stop_all()
        self.cli("broker", "--stop")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def stage(broker: BrokerProcess, registry: RegistryProcess,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    docs_stage = Stage(tmp_path_factory.mktemp("docs"), {
        BROKER_ENV: broker.bootstrap_servers, REGISTRY_ENV: registry.url,
        BROKER_KIND_ENV: broker.kind})
    yield docs_stage
    docs_stage.close()


def test_the_pages_show_commands() -> None:
    pages = {command.source.split(":")[0] for command in DOC_COMMANDS}
    assert {"README.md", "cli.md", "batch.md"} <= pages
    assert "dmcs batch submit alert-production --ranks 2" in {c.text for c in DOC_COMMANDS}


def test_every_listed_command_is_still_on_a_page() -> None:
    keys = {command.key for command in DOC_COMMANDS}
    assert set(NOT_RUN) - keys == set()
    assert set(GIVEN) - keys == set()


@pytest.mark.parametrize("command", DOC_COMMANDS, ids=lambda c: f"{c.source} {c.text}")
def test_command_runs_as_written(command: DocCommand, stage: Stage) -> None:
    reason = why_not_run(command)
    if reason is not None:
        pytest.skip(reason)
    stage.given(GIVEN.get(command.key, Given.NOTHING))

    result = stage.run(command.text)

    said = f"{command.source}: {command.text}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    if command.error is not None:
        printed = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert printed, said
        assert same_line(command.error, printed[0]), f"page shows {command.error!r}\n{said}"
        assert ";" in command.text or result.returncode != 0, said
    elif expected_not_running(command):
        assert result.returncode == ExitCode.NOT_RUNNING, said
        assert "is not running" in result.stderr, said
    else:
        assert result.returncode == 0, said
