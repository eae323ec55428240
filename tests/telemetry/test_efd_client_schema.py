"""`EfdClient.get_schema`: a topic's fields, descriptions and units from the schema registry,
as lsst-efd-client gives them."""

from __future__ import annotations

import astropy.units as u
import pytest

from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import TEST
from dmcs.sal.registry.process import RegistryProcess
from dmcs.telemetry.efd_client import EfdClient, EfdError
from dmcs.telemetry.influx_server import InfluxServer


async def test_get_schema_describes_every_field(domain: Domain, registry: RegistryProcess,
                                                influx: InfluxServer) -> None:
    await domain.ensure_topics(TEST.specs())  # registered as lsst.<subname>.Test.*-value
    async with EfdClient(influx.url, schema_registry=registry.url) as client:
        scalars = await client.get_schema("lsst.sal.Test.scalars")
        arrays = await client.get_schema("lsst.sal.Test.arrays")
    rows = scalars.set_index("name")
    assert list(scalars.columns) == ["name", "description", "units", "aunits", "is_array"]
    assert rows.loc["int0", "description"] == "An int."
    assert rows.loc["int0", "aunits"] == u.dimensionless_unscaled
    assert rows.loc["private_sndStamp", "units"] == "second"
    assert rows.loc["private_sndStamp", "aunits"] == u.s
    assert not rows["is_array"].any()
    assert arrays.set_index("name").loc["double0", "is_array"]
    assert list(scalars["name"])[:2] == ["salIndex", "private_sndStamp"]


async def test_get_schema_names_what_is_missing(registry: RegistryProcess,
                                                influx: InfluxServer) -> None:
    async with EfdClient(influx.url, schema_registry=registry.url) as client:
        with pytest.raises(EfdError, match=r"no schema for topic lsst\.sal\.Nobody\.nothing"):
            await client.get_schema("lsst.sal.Nobody.nothing")
    async with EfdClient(influx.url) as client:
        with pytest.raises(EfdError, match="no schema registry for this EFD"):
            await client.get_schema("lsst.sal.Test.scalars")
