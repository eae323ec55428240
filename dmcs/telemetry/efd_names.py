"""Named EFDs: a small YAML file instead of lsst-efd-client's credentials service.

`EfdClient("summit")` looks the name up in the file (`$DMCS_EFD_NAMES`, else
`$DMCS_HOME/efd_names.yaml`; `dmcs.settings`), one entry per EFD::

    summit:
      url: https://summit-lsp.lsst.codes/influxdb     # InfluxDB v1 HTTP API (required)
      database: efd                                   # default efd
      schema_registry: https://summit-lsp.lsst.codes/schema-registry   # for get_schema

A name with `://` in it is a URL and needs no file. A missing or malformed file, an unknown
name or key raises EfdError naming the file and what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dmcs.telemetry.efd_query import EfdError
from dmcs.telemetry.influx_http import DEFAULT_DATABASE

KEYS = ("url", "database", "schema_registry")


@dataclass(frozen=True)
class EfdLocation:
    """Where one EFD is: its InfluxDB, the database in it, its Schema Registry (if known)."""

    url: str
    database: str = DEFAULT_DATABASE
    schema_registry: str | None = None


def is_url(name: str) -> bool:
    return "://" in name


def read_efd_names(path: Path) -> dict[str, EfdLocation]:
    """Every named EFD in `path`; none when the file does not exist."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise EfdError(f"cannot read the EFD names file {path}: {err.strerror}") from None
    try:
        entries = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise EfdError(f"{path}{where}: not YAML ({getattr(err, 'problem', err)})") from None
    if entries is None:
        return {}
    if not isinstance(entries, dict):
        raise EfdError(f"{path}: expected a mapping of EFD name to its url, database and "
                       "schema_registry")
    return {str(name): _location(path, str(name), entry) for name, entry in entries.items()}


def _location(path: Path, name: str, entry: Any) -> EfdLocation:
    if not isinstance(entry, dict):
        raise EfdError(f"{path}: EFD {name!r} must be a mapping with a url")
    unknown = sorted(str(k) for k in entry if k not in KEYS)
    if unknown:
        raise EfdError(f"{path}: EFD {name!r} has unknown key(s) {', '.join(unknown)}; "
                       f"known: {', '.join(KEYS)}")
    values = {key: entry[key] for key in KEYS if entry.get(key) is not None}
    bad = [key for key, value in values.items() if not isinstance(value, str) or not value]
    if bad:
        raise EfdError(f"{path}: EFD {name!r}: {', '.join(bad)} must be text")
    for key in ("url", "schema_registry"):
        if key in values and not is_url(values[key]):
            raise EfdError(f"{path}: EFD {name!r}: {key} {values[key]!r} is not a URL "
                           "such as http://127.0.0.1:8086")
    if "url" not in values:
        raise EfdError(f"{path}: EFD {name!r} has no url")
    return EfdLocation(**values)


def resolve_efd(name: str, path: Path) -> EfdLocation:
    """The EFD `name` stands for: a URL as given, else its entry in the file at `path`."""
    if is_url(name):
        return EfdLocation(name)
    names = read_efd_names(path)
    if name in names:
        return names[name]
    if not names:
        raise EfdError(f"no EFD named {name!r}: {path} lists none (give a URL such as "
                       "http://127.0.0.1:8086, or name EFDs there; docs/telemetry.md)")
    raise EfdError(f"no EFD named {name!r} in {path}; named: {', '.join(sorted(names))}")
