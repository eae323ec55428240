"""Settings come from flags, then the environment, then defaults; bad values are named."""

from __future__ import annotations

import pytest

from dmcs.sal.config import SalConfig


def test_flags_win_over_environment() -> None:
    env = {"LSST_KAFKA_BROKER_ADDR": "kafka:9092", "LSST_TOPIC_SUBNAME": "night"}
    assert SalConfig.from_env(environ=env).bootstrap_servers == "kafka:9092"
    assert SalConfig.from_env(environ=env).subname == "night"
    flagged = SalConfig.from_env("other:9092", "mine", environ=env)
    assert (flagged.bootstrap_servers, flagged.subname) == ("other:9092", "mine")


def test_defaults_mean_embedded_broker_and_sal() -> None:
    config = SalConfig.from_env(environ={})
    assert (config.bootstrap_servers, config.subname, config.fetch_max_wait_ms) == (
        None, "sal", None)


def test_sasl_settings_pass_through() -> None:
    config = SalConfig.from_env(environ={"LSST_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                                         "LSST_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                                         "LSST_KAFKA_SASL_USERNAME": "dmcs",
                                         "LSST_KAFKA_SASL_PASSWORD": "secret"})
    assert config.security == {"security_protocol": "SASL_PLAINTEXT",
                               "sasl_mechanism": "SCRAM-SHA-512",
                               "sasl_plain_username": "dmcs", "sasl_plain_password": "secret"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LSST_TOPIC_SUBNAME": "bad name!"}, "topic subname 'bad name!'"),
        ({"DMCS_FETCH_MAX_WAIT_MS": "soon"}, "DMCS_FETCH_MAX_WAIT_MS='soon'"),
    ],
)
def test_bad_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SalConfig.from_env(environ=env)
