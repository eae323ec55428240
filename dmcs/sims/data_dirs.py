"""Where simulators and services keep data by default: ``$DMCS_HOME/<name>``.

Without DMCS_HOME, ``~/.local/share/dmcs/<name>`` (the job store's convention). Read at
configuration time, once, so a component's configured paths are the only ones it uses.
"""

from __future__ import annotations

from pathlib import Path

from dmcs.settings import settings


def data_dir(name: str) -> Path:
    return settings().data_dir(name)
