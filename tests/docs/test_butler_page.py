"""docs/butler.md's blocks run as written, in order, on a night's repository built by the real
parts (tests/docs/butler_night.py): every `sh` line must exit 0, every `python` block must run
(its asserts are the page's claims)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.butler_night import make_night

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "butler.md"
BLOCK = re.compile(r"^```(sh|python)\n(.*?)^```\n", flags=re.M | re.S)


def blocks() -> list[tuple[str, str]]:
    return [(kind, body) for kind, body in BLOCK.findall(PAGE.read_text())]


def shell_commands(body: str) -> list[str]:
    """One command per line, ``\\`` continuations joined."""
    return [line.strip() for line in body.replace("\\\n", " ").splitlines() if line.strip()]


def test_the_page_shows_commands_and_calls() -> None:
    kinds = [kind for kind, _ in blocks()]
    assert kinds.count("sh") >= 6 and kinds.count("python") >= 6


@pytest.mark.timeout(600)
def test_every_block_runs_as_written(tmp_path: Path) -> None:
    repo = make_night(tmp_path / "data")
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "REPO": str(repo),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    cwd = Path.cwd()
    os.chdir(work)
    try:
        for number, (kind, body) in enumerate(blocks()):
            if kind == "python":
                exec(compile(body, f"docs/butler.md python block {number}", "exec"),
                     {"REPO": str(repo), "__name__": "butler_page"})
                continue
            for command in shell_commands(body):
                done = subprocess.run(["bash", "-c", command], cwd=work, env=env,
                                      capture_output=True, text=True, check=False)
                assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    finally:
        os.chdir(cwd)
    assert len(list((work / "retrieved").rglob("*.fits"))) == 2
