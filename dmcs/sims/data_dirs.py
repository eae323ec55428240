"""Where simulators and services keep data by default: ``$DMCS_HOME/<name>``.

Without DMCS_HOME, ``~/.local/share/dmcs/<name>`` (the job store's convention). Read at
configuration time, once, so a component's configured paths are the only ones it uses.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "DMCS_HOME"


def data_dir(name: str) -> Path:
    home = os.environ.get(HOME_ENV) or Path.home() / ".local" / "share" / "dmcs"
    return Path(home) / name
