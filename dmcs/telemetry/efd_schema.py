"""`EfdClient.get_schema`: a topic's fields as the schema registry describes them.

As lsst-efd-client's: one row per field with its `name`, `description`, `units`, `aunits`
(the units as an astropy unit; "unitless" is dimensionless) and `is_array`. The schema is the
latest of the subject ``<topic>-value``; where the topic's Kafka name differs from its EFD
name (a topic subname other than ``sal``), the subject whose schema has that namespace and
name is used.
"""

from __future__ import annotations

import json
from typing import Any

import astropy.units as u
import pandas as pd

from dmcs.sal.registry.client import RegistryClient, RegistryError

UNITLESS = ("unitless", "", "dimensionless")


def schema_frame(schema: dict[str, Any]) -> pd.DataFrame:
    """The fields of an Avro record schema as lsst-efd-client's get_schema returns them."""
    rows: dict[str, list[Any]] = {"name": [], "description": [], "units": [], "aunits": [],
                                  "is_array": []}
    for field in schema.get("fields", []):
        units = str(field.get("units", ""))
        rows["name"].append(field["name"])
        rows["description"].append(field.get("description"))
        rows["units"].append(units)
        rows["aunits"].append(_astropy_units(units))
        kind = field.get("type")
        rows["is_array"].append(isinstance(kind, dict) and kind.get("type") == "array")
    return pd.DataFrame(rows)


def _astropy_units(units: str) -> Any:
    if units in UNITLESS:
        return u.dimensionless_unscaled
    try:
        return u.Unit(units)
    except ValueError:
        return None


async def topic_schema(registry_url: str, topic: str) -> dict[str, Any] | None:
    """The latest schema registered for the EFD topic `topic`, or None if there is none."""
    async with RegistryClient(registry_url, retry_for=5.0) as client:
        try:
            return await _parsed(client, f"{topic}-value")
        except RegistryError:
            pass
        suffix = "." + ".".join(topic.split(".")[-2:]) + "-value"  # .<Component>.<topic>-value
        for subject in await client.subjects():
            if not subject.endswith(suffix):
                continue
            schema = await _parsed(client, subject)
            if f"{schema.get('namespace', '')}.{schema.get('name', '')}" == topic:
                return schema
    return None


async def _parsed(client: RegistryClient, subject: str) -> dict[str, Any]:
    latest = await client.latest(subject)
    schema: dict[str, Any] = json.loads(latest["schema"])
    return schema
