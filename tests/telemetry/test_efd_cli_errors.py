"""`dmcs efd` mistakes: one line naming the bad topic, field or time range; exit status 2."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dmcs.cli.main import app
from dmcs.telemetry.influx_http import InfluxHttp
from dmcs.telemetry.influx_server import InfluxServer

TOPIC = "lsst.clierr.Test.scalars"


@pytest.mark.parametrize(("arguments", "message"), [
    (["query", "lsst.clierr.Test.nope"], "no topic 'lsst.clierr.Test.nope' in the EFD"),
    (["query", TOPIC, "--fields", "int0,colour"], f"{TOPIC} has no field(s) colour"),
    (["query", TOPIC, "--start", "2025-02-01", "--end", "2025-01-01"], "empty time range"),
    (["query", TOPIC, "--start", "yesterday-ish"], "bad start 'yesterday-ish'"),
    (["fields", "lsst.clierr.Test.nope"], "no topic 'lsst.clierr.Test.nope'"),
])
def test_bad_query_is_one_line_naming_it(influx: InfluxServer, arguments: list[str],
                                         message: str) -> None:
    async def seed() -> None:
        async with InfluxHttp(influx.url) as client:
            await client.create_database()
            await client.write(f"{TOPIC} salIndex=1i,int0=3i 1700000000000000\n".encode())

    asyncio.run(seed())
    result = CliRunner(env={"COLUMNS": "250"}).invoke(app, ["efd", *arguments,
                                                           "--efd", influx.url])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output


@pytest.mark.parametrize(("arguments", "message"), [
    (["write"], "where is the EFD? give --efd URL|NAME"),
    (["write", "--efd", "nowhere"], "no EFD named 'nowhere'"),
])
def test_a_writer_without_an_efd_is_one_line_naming_it(
    tmp_path: Path, arguments: list[str], message: str,
) -> None:
    env = {"COLUMNS": "250", "DMCS_EFD_URL": "", "DMCS_HOME": str(tmp_path)}
    result = CliRunner(env=env).invoke(app, ["efd", *arguments])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output
