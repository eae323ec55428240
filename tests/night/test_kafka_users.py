"""The users of a secure night: a service writes its own topics and the others' commands only."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmcs.night.kafka_users import NIGHT_USER, REGISTRY_USER, night_users
from dmcs.night.options import NightOptions


def test_each_service_writes_its_own_topics_and_the_others_commands_only() -> None:
    users = {u.name: u for u in night_users("sal", ["Archiver", "DMCS", "PromptProcessing"])}
    assert set(users) == {"archiver", "dmcs", "promptprocessing", NIGHT_USER, REGISTRY_USER}
    archiver = users["archiver"]
    assert archiver.reads == ("lsst.sal.*",) and archiver.creates == ("lsst.sal.*",)
    assert set(archiver.writes) == {"lsst.sal.Archiver.*", "lsst.sal.DMCS.command_*",
                                    "lsst.sal.PromptProcessing.command_*",
                                    "lsst.sal.Script.command_*"}
    assert "lsst-alerts-v11" in users["promptprocessing"].writes  # the site's stream name
    assert "lsst-alerts-v11" in users["promptprocessing"].creates
    assert "lsst-alerts-v11" not in archiver.writes
    assert "lsst-alerts-v11" in users[NIGHT_USER].reads
    assert users[REGISTRY_USER].writes == ("_schemas",)


@pytest.mark.parametrize(("options", "message"), [
    ({"brokers": 3, "broker": "kafka:9092"}, "cannot go with --broker"),
    ({"secure": True, "broker": "kafka:9092"}, "LSST_KAFKA_SECURITY_"),
    ({"brokers": 9}, "--brokers must be 1..5"),
])
def test_cluster_options_that_cannot_work_are_refused_naming_why(
    tmp_path: Path, options: dict[str, object], message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        NightOptions(root=tmp_path, **options)  # type: ignore[arg-type]
