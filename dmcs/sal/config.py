"""Connection settings, read once at the edge (flags, then environment, then defaults)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

BROKER_ENV = "LSST_KAFKA_BROKER_ADDR"
SUBNAME_ENV = "LSST_TOPIC_SUBNAME"
DEFAULT_SUBNAME = "sal"
FETCH_WAIT_ENV = "DMCS_FETCH_MAX_WAIT_MS"


@dataclass(frozen=True)
class SalConfig:
    """Where the Kafka broker is and how to talk to it.

    ``bootstrap_servers`` of ``None`` means "use the embedded broker on this machine".
    ``security`` holds aiokafka connection options passed through untouched
    (``security_protocol``, ``sasl_mechanism``, ``sasl_plain_username``, ``ssl_context``, ...).
    ``fetch_max_wait_ms`` overrides how long a read waits at the broker: the embedded broker
    (Tansu) does not answer a waiting fetch when data arrives, so dmcs polls it every few ms;
    a real Kafka cluster does, so there a long wait (e.g. 100 ms) costs no latency and no CPU.
    """

    bootstrap_servers: str | None = None
    subname: str = DEFAULT_SUBNAME
    security: Mapping[str, Any] = field(default_factory=dict)
    fetch_max_wait_ms: int | None = None

    @classmethod
    def from_env(
        cls,
        bootstrap_servers: str | None = None,
        subname: str | None = None,
        *,
        environ: Mapping[str, str],
    ) -> SalConfig:
        """Build a config: explicit arguments win over the environment `environ`."""
        env = environ
        servers = bootstrap_servers or env.get(BROKER_ENV) or None
        sub = subname or env.get(SUBNAME_ENV) or DEFAULT_SUBNAME
        if not sub.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"topic subname {sub!r} may hold only letters, digits, '_' and '-'")
        wait = env.get(FETCH_WAIT_ENV)
        if wait is not None and not (wait.isdigit() and 0 < int(wait) <= 60000):
            raise ValueError(f"{FETCH_WAIT_ENV}={wait!r}: expected milliseconds, 1 to 60000")
        return cls(bootstrap_servers=servers, subname=sub, security=_security_from_env(env),
                   fetch_max_wait_ms=int(wait) if wait else None)


def _security_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """SASL/TLS settings from the environment, named as aiokafka names its options."""
    names = {
        "LSST_KAFKA_SECURITY_PROTOCOL": "security_protocol",
        "LSST_KAFKA_SASL_MECHANISM": "sasl_mechanism",
        "LSST_KAFKA_SASL_USERNAME": "sasl_plain_username",
        "LSST_KAFKA_SASL_PASSWORD": "sasl_plain_password",
    }
    options: dict[str, Any] = {opt: env[var] for var, opt in names.items() if env.get(var)}
    cafile = env.get("LSST_KAFKA_SSL_CAFILE")
    if cafile or options.get("security_protocol", "").endswith("SSL"):
        from aiokafka.helpers import create_ssl_context

        options["ssl_context"] = create_ssl_context(cafile=cafile)
    return options
