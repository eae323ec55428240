"""Connection settings, read once at the edge (flags, then environment, then defaults).

The environment names are ts_salobj's, so one environment serves both: the broker
(``LSST_KAFKA_BROKER_ADDR``), the topic subname, the schema registry
(``LSST_SCHEMA_REGISTRY_URL``), SASL/TLS (``LSST_KAFKA_SECURITY_*``), the replication factor
of the topics a process creates and the acks telemetry writes wait for.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

log = logging.getLogger(__name__)

BROKER_ENV = "LSST_KAFKA_BROKER_ADDR"
SUBNAME_ENV = "LSST_TOPIC_SUBNAME"
REGISTRY_ENV = "LSST_SCHEMA_REGISTRY_URL"
REPLICATION_ENV = "LSST_KAFKA_REPLICATION_FACTOR"
WAIT_ACKS_ENV = "LSST_KAFKA_PRODUCER_WAIT_ACKS"
BROKER_KIND_ENV = "DMCS_BROKER_KIND"
DEFAULT_SUBNAME = "sal"
FETCH_WAIT_ENV = "DMCS_FETCH_MAX_WAIT_MS"
REGISTRY_RETRY_ENV = "DMCS_REGISTRY_RETRY_S"
SECURITY_ENV = {
    "LSST_KAFKA_SECURITY_PROTOCOL": "security_protocol",
    "LSST_KAFKA_SECURITY_MECHANISM": "sasl_mechanism",
    "LSST_KAFKA_SECURITY_USERNAME": "sasl_plain_username",
    "LSST_KAFKA_SECURITY_PASSWORD": "sasl_plain_password",
}
#: Names of an earlier release, read for one more with a warning naming the new one.
OLD_SECURITY_ENV = {
    "LSST_KAFKA_SASL_MECHANISM": "LSST_KAFKA_SECURITY_MECHANISM",
    "LSST_KAFKA_SASL_USERNAME": "LSST_KAFKA_SECURITY_USERNAME",
    "LSST_KAFKA_SASL_PASSWORD": "LSST_KAFKA_SECURITY_PASSWORD",
}
CAFILE_ENV = "LSST_KAFKA_SSL_CAFILE"

BrokerKind = Literal["kafka", "tansu"]
_warned: set[str] = set()


@dataclass(frozen=True)
class SalConfig:
    """Where the Kafka broker and the schema registry are, and how to talk to them.

    ``bootstrap_servers`` of ``None`` means "use the embedded broker on this machine", and
    ``schema_registry_url`` of ``None`` "the registry beside the embedded broker".
    ``security`` holds aiokafka connection options passed through untouched
    (``security_protocol``, ``sasl_mechanism``, ``sasl_plain_username``, ``ssl_context``, ...).
    ``broker_kind`` selects what dmcs does for the broker it talks to (see
    :mod:`dmcs.sal.broker_profile`): Apache Kafka unless told it is Tansu.
    ``fetch_max_wait_ms`` overrides how long a read waits at the broker.
    ``telemetry_acks`` is what telemetry writes wait for (commands, acks and events always
    wait for every in-sync replica). ``registry_retry_s`` bounds the wait for a registry that
    does not answer (at start a process then stops with one line naming it).
    """

    bootstrap_servers: str | None = None
    subname: str = DEFAULT_SUBNAME
    schema_registry_url: str | None = None
    security: Mapping[str, Any] = field(default_factory=dict)
    replication_factor: int = 1
    telemetry_acks: int | str = 1
    broker_kind: BrokerKind = "kafka"
    fetch_max_wait_ms: int | None = None
    #: How long a registration or schema lookup is retried while the registry is away.
    registry_retry_s: float = 30.0

    @classmethod
    def from_env(
        cls,
        bootstrap_servers: str | None = None,
        subname: str | None = None,
        *,
        environ: Mapping[str, str],
        schema_registry_url: str | None = None,
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
        kind = env.get(BROKER_KIND_ENV) or "kafka"
        if kind not in ("kafka", "tansu"):
            raise ValueError(f"{BROKER_KIND_ENV}={kind!r}: expected kafka or tansu")
        return cls(
            bootstrap_servers=servers,
            subname=sub,
            schema_registry_url=(schema_registry_url or env.get(REGISTRY_ENV) or None),
            security=_security_from_env(env),
            replication_factor=_positive(env, REPLICATION_ENV, 1),
            telemetry_acks=_acks(env.get(WAIT_ACKS_ENV)),
            broker_kind=kind,  # type: ignore[arg-type]
            fetch_max_wait_ms=int(wait) if wait else None,
            registry_retry_s=float(_positive(env, REGISTRY_RETRY_ENV, 30)),
        )


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name}={value!r}: expected a whole number of at least 1")
    return int(value)


def _acks(value: str | None) -> int | str:
    if not value:
        return 1
    if value not in ("0", "1", "all", "-1"):
        raise ValueError(f"{WAIT_ACKS_ENV}={value!r}: expected 0, 1 or all")
    return "all" if value in ("all", "-1") else int(value)


def _security_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """SASL/TLS settings from the environment, named as aiokafka names its options."""
    options: dict[str, Any] = {opt: env[var] for var, opt in SECURITY_ENV.items() if env.get(var)}
    for old, new in OLD_SECURITY_ENV.items():
        if env.get(old) and not env.get(new):
            options[SECURITY_ENV[new]] = env[old]
            if old not in _warned:
                _warned.add(old)
                log.warning("%s is deprecated and will be ignored in the next release; "
                            "set %s instead", old, new)
    cafile = env.get(CAFILE_ENV)
    if cafile or options.get("security_protocol", "").endswith("SSL"):
        from aiokafka.helpers import create_ssl_context

        options["ssl_context"] = create_ssl_context(cafile=cafile)
    return options
