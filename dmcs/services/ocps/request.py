"""The text fields of OCPS `execute`, parsed: config pairs and files, prerequisite job ids.

`config` is, as ts_xml says, "config key=value pairs or config filenames, in order,
space-separated": values are YAML (``detectors=[R22_S11,R22_S12]``, ``seed=3``), files are
YAML mappings, later entries win. `prereq_jobs` is comma-separated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dmcs.validation import describe_yaml_error, parse_yaml_mapping


def parse_config(text: str) -> dict[str, Any]:
    """The config mapping; ValueError naming the bad pair or file."""
    config: dict[str, Any] = {}
    for entry in text.split():
        key, separator, value = entry.partition("=")
        if separator:
            if not key:
                raise ValueError(f"config entry {entry!r} has no key")
            try:
                config[key] = yaml.safe_load(value)
            except yaml.YAMLError as error:
                problem = describe_yaml_error(error)
                raise ValueError(f"config entry {entry!r}: bad value ({problem})") from None
            continue
        try:
            text = Path(entry).read_text()
        except OSError as error:
            raise ValueError(f"config file {entry!r}: {error.strerror}") from None
        config.update(parse_yaml_mapping(text, f"config file {entry!r}"))
    return config


def parse_job_ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
