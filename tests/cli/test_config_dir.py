"""`dmcs run --config-dir DIR` and `DMCS_CONFIG_DIR=DIR`: one meaning, one folder per component."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmcs.cli.errors import ExitCode
from dmcs.testing.processes import Cli, CscProcesses


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A deployment's configuration root, with the Test CSC's folder."""
    root = tmp_path / "site"
    (root / "Test").mkdir(parents=True)
    (root / "Test" / "_init.yaml").write_text("string0: from-site\n")
    (root / "Test" / "night.yaml").write_text("wait_progress_interval: 0.25\n")
    return root


async def applied_configuration(cli: Cli, component: str) -> str:
    walked = await cli.arun("state", component, "disabled", "--override", "night.yaml")
    assert walked.returncode == 0, walked.stderr
    watched = await cli.arun("watch", component, "configurationApplied", "--count", "1")
    assert watched.returncode == 0, watched.stderr
    return watched.stdout


async def test_config_dir_option_reads_the_component_folder(
    cli: Cli, cscs: CscProcesses, site: Path
) -> None:
    await cscs.arun("Test", "--index", "1", "--config-dir", str(site))

    applied = await applied_configuration(cli, "Test:1")
    assert "from-site" in applied
    assert "0.25" in applied


async def test_config_dir_environment_means_the_same(
    cli: Cli, site: Path, tmp_path: Path
) -> None:
    with_site = Cli({**cli.env, "DMCS_CONFIG_DIR": str(site)})
    cscs = CscProcesses(with_site, tmp_path)
    try:
        await cscs.arun("Test", "--index", "2")
        applied = await applied_configuration(cli, "Test:2")
    finally:
        cscs.stop_all()
    assert "from-site" in applied
    assert "0.25" in applied


def test_missing_config_dir_from_the_environment_is_named(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = Cli({**cli.env, "DMCS_CONFIG_DIR": str(missing)})("run", "Test", "--index", "3")

    assert result.returncode == ExitCode.USAGE
    assert result.stderr == f"error: config dir {missing} ($DMCS_CONFIG_DIR) does not exist\n"
