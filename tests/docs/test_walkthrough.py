"""docs/sal.md's "write a new CSC" walkthrough shows exactly the files of the example CSC."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PAGE = (ROOT / "docs" / "sal.md").read_text()
BLOCKS = re.findall(r"^`([^`\n]+)`:\n\n```\w+\n(.*?)```\n", PAGE, flags=re.M | re.S)


def test_walkthrough_shows_every_file_of_the_example() -> None:
    assert [path for path, _ in BLOCKS] == [
        "dmcs/sal/interfaces/DiskMonitor.yaml",
        "dmcs/services/disk_monitor/space.py",
        "dmcs/services/disk_monitor/config/DiskMonitor/_init.yaml",
        "dmcs/services/disk_monitor/csc.py",
        "tests/services/disk_monitor/test_disk_monitor.py",
    ]


@pytest.mark.parametrize(("path", "shown"), BLOCKS, ids=[path for path, _ in BLOCKS])
def test_page_and_file_agree(path: str, shown: str) -> None:
    assert shown == (ROOT / path).read_text(), f"docs/sal.md shows an old {path}"


def test_page_shows_the_interface_table_entry_as_it_is() -> None:
    entry = re.search(r"`INTERFACE_FILES`.*?```python\n(.*?)```", PAGE, flags=re.S)
    assert entry is not None, "docs/sal.md no longer shows the INTERFACE_FILES entry"
    assert entry.group(1) in (ROOT / "dmcs/sal/interfaces/__init__.py").read_text()
