"""Named EFDs: `EfdClient(name)` resolved from a small YAML file, not a credentials service."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pandas as pd
import pytest
from efd_points import SCALARS, T0, efd_database
from typer.testing import CliRunner, Result

from dmcs.cli.main import app
from dmcs.settings import EFD_NAMES_ENV, HOME_ENV, Settings
from dmcs.telemetry.efd_client import EfdClient, EfdError
from dmcs.telemetry.influx_frames import InfluxFrameClient
from dmcs.telemetry.influx_http import InfluxHttp
from dmcs.telemetry.influx_server import InfluxServer

REGISTRY = "http://127.0.0.1:8081"


def write_names(path: Path, url: str, database: str) -> Path:
    path.write_text(f"""\
here:
  url: {url}
  database: {database}
  schema_registry: {REGISTRY}
elsewhere:
  url: http://127.0.0.1:9
""")
    return path


async def test_a_named_efd_gives_its_url_database_and_registry(
        influx: InfluxServer, tmp_path: Path) -> None:
    async with efd_database(influx.url) as seeded:
        names = write_names(tmp_path / "efd_names.yaml", influx.url, seeded.db_name)
        async with EfdClient("here", names_file=names) as client:
            assert (client.url, client.db_name) == (influx.url, seeded.db_name)
            assert client.schema_registry_url == REGISTRY
            assert SCALARS in await client.get_topics()
        async with EfdClient("elsewhere", names_file=names) as client:
            assert (client.db_name, client.schema_registry_url) == ("efd", None)
        async with EfdClient("here", db_name="efd_none_here", names_file=names) as client:
            assert client.db_name == "efd_none_here"
            assert await client.get_topics() == []


def test_list_efd_names_is_sorted_and_empty_without_a_file(tmp_path: Path) -> None:
    names = write_names(tmp_path / "efd_names.yaml", "http://127.0.0.1:8086", "efd")
    assert EfdClient.list_efd_names(names) == ["elsewhere", "here"]
    assert EfdClient.list_efd_names(tmp_path / "absent.yaml") == []


def test_an_unknown_name_lists_the_known_ones(tmp_path: Path) -> None:
    names = write_names(tmp_path / "efd_names.yaml", "http://127.0.0.1:8086", "efd")
    with pytest.raises(EfdError, match=r"no EFD named 'summit' in .*efd_names.yaml; named: "
                       "elsewhere, here"):
        EfdClient("summit", names_file=names)
    with pytest.raises(EfdError, match=r"no EFD named 'summit': .*absent.yaml lists none"):
        EfdClient("summit", names_file=tmp_path / "absent.yaml")


def test_a_url_needs_no_file(tmp_path: Path) -> None:
    client = EfdClient("http://127.0.0.1:8086", names_file=tmp_path / "absent.yaml")
    assert (client.url, client.db_name, client.schema_registry_url) == (
        "http://127.0.0.1:8086", "efd", None)


@pytest.mark.parametrize(("text", "message"), [
    ("here:\n  url: http://h:1\n\tdatabase: efd\n", "line 3: not YAML"),
    ("- here\n", "expected a mapping of EFD name"),
    ("here: http://127.0.0.1:8086\n", "EFD 'here' must be a mapping with a url"),
    ("here:\n  database: efd\n", "EFD 'here' has no url"),
    ("here:\n  url: http://h:1\n  host: h\n", "EFD 'here' has unknown key(s) host; known: url"),
    ("here:\n  url: 127.0.0.1:8086\n", "url '127.0.0.1:8086' is not a URL"),
    ("here:\n  url: http://h:1\n  database: 3\n", "EFD 'here': database must be text"),
])
def test_a_bad_names_file_is_one_error_naming_file_and_entry(
        tmp_path: Path, text: str, message: str) -> None:
    names = tmp_path / "efd_names.yaml"
    names.write_text(text)
    with pytest.raises(EfdError) as caught:
        EfdClient("here", names_file=names)
    assert str(caught.value).startswith(str(names)) and message in str(caught.value)
    assert "\n" not in str(caught.value)


async def test_client_replaces_the_influx_client_of_every_query(
        influx: InfluxServer, tmp_path: Path) -> None:
    """As lsst-efd-client's `client=`: the name still resolves, queries go to the given one."""
    async with efd_database(influx.url) as seeded:
        names = write_names(tmp_path / "efd_names.yaml", "http://127.0.0.1:9", seeded.db_name)
        other = InfluxFrameClient(InfluxHttp(influx.url, seeded.db_name))
        async with other, EfdClient("here", client=other, names_file=names) as client:
            assert client.influx_client is other
            assert client.url == "http://127.0.0.1:9"
            frame = await client.select_top_n(SCALARS, "int0", 2)
            assert frame["int0"].tolist() == [9, 8]


def test_the_names_file_is_a_setting() -> None:
    assert Settings({EFD_NAMES_ENV: "/etc/dmcs/efds.yaml"}).efd_names_file == Path(
        "/etc/dmcs/efds.yaml")
    assert Settings({HOME_ENV: "/srv/dmcs"}).efd_names_file == Path("/srv/dmcs/efd_names.yaml")


async def test_dmcs_efd_takes_a_name_and_lists_the_names(
        influx: InfluxServer, tmp_path: Path) -> None:
    names = tmp_path / "efd_names.yaml"
    runner = CliRunner(env={EFD_NAMES_ENV: str(names), "COLUMNS": "250"})

    def dmcs_efd(*args: str) -> Result:
        """In a thread: the CLI runs an event loop of its own."""
        return runner.invoke(app, ["efd", *args])

    async with efd_database(influx.url) as seeded:
        write_names(names, influx.url, seeded.db_name)
        more = "".join(f"{SCALARS} salIndex=1i,int0={k}i {(T0 + k) * 10**6}\n" for k in (10, 11))
        await seeded.influx.write(more.encode())
        result = await asyncio.to_thread(dmcs_efd, "query", SCALARS, "--efd", "here",
                                         "--fields", "int0", "--last", "0", "--csv")
        assert result.exit_code == 0, result.output
        assert pd.read_csv(io.StringIO(result.output))["int0"].tolist() == list(range(12))
    result = await asyncio.to_thread(dmcs_efd, "names")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "elsewhere\thttp://127.0.0.1:9\tefd\t-",
        f"here\t{influx.url}\t{seeded.db_name}\t{REGISTRY}"]
    result = await asyncio.to_thread(dmcs_efd, "topics", "--efd", "summit")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: no EFD named 'summit' in {names}; named: elsewhere, here"]
    names.write_text("- here\n")
    result = await asyncio.to_thread(dmcs_efd, "names")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: {names}: expected a mapping of EFD name to its url, database and "
        "schema_registry"]
