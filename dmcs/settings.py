"""Settings read from the environment, in one place, as the observatory's tools name them.

Flags override these; nothing else in dmcs reads `os.environ`. Each process reads them at
its edge (a CLI verb, `dmcs run`, a fixture) and passes the values down.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dmcs.sal.config import SalConfig

HOME_ENV = "DMCS_HOME"
CONFIG_DIR_ENV = "DMCS_CONFIG_DIR"
JOB_STORE_ENV = "DMCS_JOB_STORE"
EFD_URL_ENV = "DMCS_EFD_URL"
EFD_NAMES_ENV = "DMCS_EFD_NAMES"
EMBEDDED_PORT_ENV = "DMCS_EMBEDDED_BROKER_PORT"
EMBEDDED_REGISTRY_PORT_ENV = "DMCS_EMBEDDED_REGISTRY_PORT"
GRAFANA_TOKEN_ENV = "GRAFANA_TOKEN"
DEFAULT_EMBEDDED_PORT = 19092
DEFAULT_EMBEDDED_REGISTRY_PORT = 18081
JOB_STORE_FILE = "jobs.sqlite"
EFD_NAMES_FILE = "efd_names.yaml"


@dataclass(frozen=True)
class Settings:
    """A snapshot of the environment, with dmcs's defaults applied."""

    environ: Mapping[str, str] = field(default_factory=dict)

    def sal(self, broker: str | None = None, subname: str | None = None,
            registry: str | None = None) -> SalConfig:
        """Kafka settings: the flags given win over LSST_KAFKA_* / LSST_TOPIC_SUBNAME /
        LSST_SCHEMA_REGISTRY_URL."""
        return SalConfig.from_env(broker, subname, environ=self.environ,
                                  schema_registry_url=registry)

    @property
    def home(self) -> Path:
        """$DMCS_HOME, else $XDG_DATA_HOME/dmcs, else ~/.local/share/dmcs."""
        explicit = self.environ.get(HOME_ENV)
        if explicit:
            return Path(explicit)
        data = self.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(data) / "dmcs"

    def data_dir(self, name: str) -> Path:
        """Where a simulator or service keeps its data by default: <home>/<name>."""
        return self.home / name

    @property
    def config_root(self) -> Path | None:
        """$DMCS_CONFIG_DIR: one folder per component, replacing the packaged defaults."""
        value = self.environ.get(CONFIG_DIR_ENV)
        return Path(value) if value else None

    @property
    def job_store(self) -> Path:
        """$DMCS_JOB_STORE, else <home>/jobs.sqlite."""
        value = self.environ.get(JOB_STORE_ENV)
        return Path(value) if value else self.home / JOB_STORE_FILE

    @property
    def efd_url(self) -> str | None:
        return self.environ.get(EFD_URL_ENV) or None

    @property
    def efd_names_file(self) -> Path:
        """$DMCS_EFD_NAMES, else <home>/efd_names.yaml: the named EFDs `EfdClient` resolves."""
        value = self.environ.get(EFD_NAMES_ENV)
        return Path(value) if value else self.home / EFD_NAMES_FILE

    @property
    def grafana_token(self) -> str | None:
        return self.environ.get(GRAFANA_TOKEN_ENV) or None

    @property
    def embedded_broker_port(self) -> int:
        return self._port(EMBEDDED_PORT_ENV, DEFAULT_EMBEDDED_PORT)

    @property
    def embedded_registry_port(self) -> int:
        return self._port(EMBEDDED_REGISTRY_PORT_ENV, DEFAULT_EMBEDDED_REGISTRY_PORT)

    def _port(self, name: str, default: int) -> int:
        value = self.environ.get(name, "")
        if value and not value.isdigit():
            raise ValueError(f"{name}={value!r}: expected a port number")
        return int(value) if value else default


def settings() -> Settings:
    """The settings of this process, as its environment says now."""
    return Settings(dict(os.environ))
