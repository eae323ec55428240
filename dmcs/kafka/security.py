"""Who may write where, as the site runs it: SCRAM-SHA-512 users and prefix ACLs.

A secure cluster's client listener speaks SASL_PLAINTEXT with SCRAM-SHA-512 (optionally a
second, TLS listener: SASL_SSL); the controllers talk among themselves over SASL PLAIN (Kafka
cannot use SCRAM there: its credentials live in the metadata the controllers serve). Every
user is created at format time (StorageTool `--add-scram`), so the first client can log in at
once; the ACLs (StandardAuthorizer, nothing allowed without one) are added once the cluster
serves, with confluent-kafka's admin client (aiokafka's has no ACL calls). The admin is a
superuser; the brokers use it among themselves.

A user's topics and groups are names, or prefixes written with a trailing `*`
(`lsst.sal.*`), or `*` for all.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from dmcs.kafka.node_config import BROKER_LISTENER, CONTROLLER_LISTENER, TLS_LISTENER
from dmcs.kafka.tls import TlsFiles

MECHANISM = "SCRAM-SHA-512"
ADMIN = "admin"
_CONTROLLER_MECHANISM = "PLAIN"
_ADMIN_TIMEOUT_S = 30.0
_SCRAM_ITERATIONS = 8192

#: The environment a dmcs process reads its connection from (ts_salobj's names).
BROKER_ENV = "LSST_KAFKA_BROKER_ADDR"
PROTOCOL_ENV = "LSST_KAFKA_SECURITY_PROTOCOL"
MECHANISM_ENV = "LSST_KAFKA_SECURITY_MECHANISM"
USERNAME_ENV = "LSST_KAFKA_SECURITY_USERNAME"
PASSWORD_ENV = "LSST_KAFKA_SECURITY_PASSWORD"
CAFILE_ENV = "LSST_KAFKA_SSL_CAFILE"


#: confluent-kafka's configuration dict (librdkafka's setting names).
LibrdkafkaConfig = dict[str, str | int | float | bool]


def new_password() -> str:
    return secrets.token_urlsafe(18)


@dataclass(frozen=True)
class ServiceUser:
    """A SCRAM user and what it may do: read or write topics, create them, join groups."""

    name: str
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    creates: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    password: str = field(default_factory=new_password, repr=False)

    def __post_init__(self) -> None:
        if not self.name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"user name {self.name!r} may hold only letters, digits, '-', '_'")

    def grants(self) -> Iterator[tuple[str, str, str]]:
        """(resource type, name or `prefix*`, operation) for every ACL of this user."""
        for kind, names, operation in (("TOPIC", self.reads, "READ"),
                                       ("TOPIC", self.writes, "WRITE"),
                                       ("TOPIC", self.creates, "CREATE"),
                                       ("GROUP", self.groups, "READ")):
            for name in names:
                yield kind, name, operation


def site_users(subname: str, alert_topic: str) -> tuple[ServiceUser, ...]:
    """The site's pattern for dmcs's services (see docs/kafka.md).

    `sal`: every CSC's producer and reader on `lsst.<subname>.*`; `prompt-processing` only
    reads `nextVisit` and writes the alert stream; `alert-reader` (a community broker) only
    reads the alert stream; `efd` (the EFD writer) reads everything under the subname.
    """
    sal = f"lsst.{subname}.*"
    return (
        ServiceUser("sal", reads=(sal,), writes=(sal,), creates=(sal,), groups=("*",)),
        ServiceUser("prompt-processing",
                    reads=(f"lsst.{subname}.ScriptQueue.logevent_nextVisit",),
                    writes=(alert_topic,)),
        ServiceUser("alert-reader", reads=(alert_topic,), groups=("alert-reader*",)),
        ServiceUser("efd", reads=(sal,), groups=("efd*",)),
    )


class ClusterSecurity:
    """The users, ACLs and (optional) TLS files of one secure cluster."""

    def __init__(self, users: tuple[ServiceUser, ...], tls: TlsFiles | None = None,
                 admin_password: str | None = None) -> None:
        names = [user.name for user in users]
        if ADMIN in names or len(set(names)) != len(names):
            raise ValueError(f"users must have distinct names other than {ADMIN!r}: {names}")
        self.admin = ServiceUser(ADMIN, password=admin_password or new_password())
        self.users = {user.name: user for user in users}
        self.tls = tls

    def user(self, name: str) -> ServiceUser:
        if name == ADMIN:
            return self.admin
        try:
            return self.users[name]
        except KeyError:
            raise KeyError(f"no user {name!r} on this cluster; users: "
                           f"{', '.join([ADMIN, *self.users])}") from None

    # -- the broker's side ----------------------------------------------------------------

    def listener_protocols(self) -> dict[str, str]:
        protocols = {BROKER_LISTENER: "SASL_PLAINTEXT", CONTROLLER_LISTENER: "SASL_PLAINTEXT"}
        if self.tls is not None:
            protocols[TLS_LISTENER] = "SASL_SSL"
        return protocols

    def broker_properties(self) -> dict[str, str]:
        """SASL on every listener, the authorizer, the admin as superuser, TLS's keystore."""
        admin = self.admin
        scram_login = ("org.apache.kafka.common.security.scram.ScramLoginModule required "
                       f'username="{admin.name}" password="{admin.password}";')
        plain_login = ("org.apache.kafka.common.security.plain.PlainLoginModule required "
                       f'username="{admin.name}" password="{admin.password}" '
                       f'user_{admin.name}="{admin.password}";')
        props = {
            "sasl.enabled.mechanisms": MECHANISM,
            "sasl.mechanism.inter.broker.protocol": MECHANISM,
            f"listener.name.{BROKER_LISTENER.lower()}.scram-sha-512.sasl.jaas.config":
                scram_login,
            "sasl.mechanism.controller.protocol": _CONTROLLER_MECHANISM,
            f"listener.name.{CONTROLLER_LISTENER.lower()}.sasl.enabled.mechanisms":
                _CONTROLLER_MECHANISM,
            f"listener.name.{CONTROLLER_LISTENER.lower()}.plain.sasl.jaas.config": plain_login,
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": f"User:{admin.name}",
            "allow.everyone.if.no.acl.found": "false",
        }
        if self.tls is not None:
            tls = TLS_LISTENER.lower()
            props.update({
                f"listener.name.{tls}.scram-sha-512.sasl.jaas.config": scram_login,
                f"listener.name.{tls}.ssl.keystore.type": "PEM",
                f"listener.name.{tls}.ssl.keystore.location": str(self.tls.keystore),
            })
        return props

    def format_args(self) -> tuple[str, ...]:
        """StorageTool arguments that create every user (and the admin) before first start."""
        args: list[str] = []
        for user in (self.admin, *self.users.values()):
            args += ["--add-scram", f"{MECHANISM}=[name={user.name},password={user.password}]"]
        return tuple(args)

    def add_acls(self, bootstrap_servers: str) -> int:
        """Create the ACLs of every user on the running cluster (as the admin); how many."""
        return _create_acls(self.librdkafka_config(ADMIN, bootstrap_servers),
                            list(self.users.values()))

    def add_user(self, user: ServiceUser, bootstrap_servers: str) -> None:
        """Create (or change) a user and its ACLs on the running cluster."""
        from confluent_kafka.admin import (
            AdminClient,
            ScramCredentialInfo,
            ScramMechanism,
            UserScramCredentialUpsertion,
        )

        if user.name == ADMIN:
            raise ValueError(f"{ADMIN!r} is the cluster's own superuser")
        admin = AdminClient(self.librdkafka_config(ADMIN, bootstrap_servers))
        upsert = UserScramCredentialUpsertion(
            user.name, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, _SCRAM_ITERATIONS),
            user.password.encode())
        for future in admin.alter_user_scram_credentials(
                [upsert], request_timeout=_ADMIN_TIMEOUT_S).values():
            future.result()
        self.users[user.name] = user
        _create_acls(self.librdkafka_config(ADMIN, bootstrap_servers), [user])

    # -- the clients' side ----------------------------------------------------------------

    def protocol(self, tls: bool) -> str:
        if tls and self.tls is None:
            raise ValueError("this cluster has no TLS listener (made without tls=True)")
        return "SASL_SSL" if tls else "SASL_PLAINTEXT"

    def client_options(self, name: str, *, tls: bool = False) -> dict[str, Any]:
        """aiokafka keyword arguments for user `name` (on the TLS listener with `tls`)."""
        user = self.user(name)
        options: dict[str, Any] = {
            "security_protocol": self.protocol(tls), "sasl_mechanism": MECHANISM,
            "sasl_plain_username": user.name, "sasl_plain_password": user.password,
        }
        if tls:
            from aiokafka.helpers import create_ssl_context

            options["ssl_context"] = create_ssl_context(cafile=str(self.ca_file))
        return options

    def client_env(self, name: str, bootstrap_servers: str, *, tls: bool = False
                   ) -> dict[str, str]:
        """The environment a dmcs process of user `name` reads its connection from."""
        user = self.user(name)
        env = {BROKER_ENV: bootstrap_servers, PROTOCOL_ENV: self.protocol(tls),
               MECHANISM_ENV: MECHANISM, USERNAME_ENV: user.name, PASSWORD_ENV: user.password}
        if tls:
            env[CAFILE_ENV] = str(self.ca_file)
        return env

    def librdkafka_config(self, name: str, bootstrap_servers: str, *, tls: bool = False
                          ) -> LibrdkafkaConfig:
        """The same for confluent-kafka (librdkafka's names)."""
        user = self.user(name)
        config: LibrdkafkaConfig = {"bootstrap.servers": bootstrap_servers,
                  "security.protocol": self.protocol(tls), "sasl.mechanism": MECHANISM,
                  "sasl.username": user.name, "sasl.password": user.password}
        if tls:
            config["ssl.ca.location"] = str(self.ca_file)
        return config

    @property
    def ca_file(self) -> str:
        if self.tls is None:
            raise ValueError("this cluster has no TLS listener (made without tls=True)")
        return str(self.tls.ca_file)


def _create_acls(admin_config: LibrdkafkaConfig, users: list[ServiceUser]) -> int:
    """ALLOW bindings for what each user may do (names ending `*` are prefixes)."""
    from confluent_kafka.admin import (
        AclBinding,
        AclOperation,
        AclPermissionType,
        AdminClient,
        ResourcePatternType,
        ResourceType,
    )

    bindings = []
    for user in users:
        for kind, name, operation in user.grants():
            pattern = ResourcePatternType.LITERAL
            if name.endswith("*") and name != "*":
                name, pattern = name[:-1], ResourcePatternType.PREFIXED
            bindings.append(AclBinding(ResourceType[kind], name, pattern, f"User:{user.name}",
                                       "*", AclOperation[operation], AclPermissionType.ALLOW))
    if bindings:
        admin = AdminClient(admin_config)
        for future in admin.create_acls(bindings, request_timeout=_ADMIN_TIMEOUT_S).values():
            future.result()
    return len(bindings)
