"""ConfigurableCsc: YAML configurations, validated by a pydantic model, applied on `start`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, ValidationError

from dmcs.csc.base_csc import BaseCsc
from dmcs.sal.domain import Domain
from dmcs.sal.interface import Interface
from dmcs.sal.topics.controller_command import ExpectedError
from dmcs.state_machines.summary_state import State

CONFIG_DIR_ENV = "DMCS_CONFIG_DIR"
DEFAULTS_FILE = "_init.yaml"
PACKAGED_CONFIGS = Path(__file__).parent / "config"


class ConfigurableCsc(BaseCsc):
    """A CSC whose `start(configurationOverride)` applies `<config_dir>/_init.yaml` and then
    the named override file on top. An invalid configuration fails `start` naming the bad
    field, and the CSC stays in STANDBY.
    """

    config_model: ClassVar[type[BaseModel]]

    def __init__(
        self,
        domain: Domain,
        interface: Interface,
        index: int = 0,
        *,
        config_dir: Path | None = None,
        initial_state: State = State.STANDBY,
        simulation_mode: int = 0,
        override: str = "",
    ) -> None:
        super().__init__(domain, interface, index, initial_state=initial_state,
                         simulation_mode=simulation_mode)
        env_dir = os.environ.get(CONFIG_DIR_ENV)
        self.config_dir = config_dir or (
            Path(env_dir) / interface.name if env_dir else PACKAGED_CONFIGS / interface.name
        )
        self.config: BaseModel | None = None
        self._initial_override = override

    def available_overrides(self) -> list[str]:
        if not self.config_dir.is_dir():
            return []
        return sorted(p.name for p in self.config_dir.glob("*.yaml") if p.name != DEFAULTS_FILE)

    async def publish_startup_events(self) -> None:
        await self.controller.evt("configurationsAvailable").set_write(
            overrides=",".join(self.available_overrides()), version=self.version,
            url=self.config_dir.as_uri(), schemaVersion=self.config_model.__name__,
        )
        if self.summary_state in (State.DISABLED, State.ENABLED):
            await self._apply(self._initial_override)

    async def begin_start(self, data: Any) -> None:
        await self._apply(data.configurationOverride)

    async def _apply(self, override: str) -> None:
        config = self.load_config(override)
        await self.configure(config)
        self.config = config
        files = ",".join(f for f in (DEFAULTS_FILE, override) if f)
        await self.controller.evt("configurationApplied").set_write(
            configurations=files, version=self.version, url=self.config_dir.as_uri(),
            schemaVersion=self.config_model.__name__,
            otherInfo=config.model_dump_json()[:2000],
        )

    def load_config(self, override: str) -> BaseModel:
        """Merge defaults and the override, and validate; ExpectedError says what is wrong."""
        values: dict[str, Any] = {}
        for name in (DEFAULTS_FILE, override):
            if not name:
                continue
            path = self.config_dir / name
            if "/" in name or not path.is_file():
                if name == DEFAULTS_FILE:
                    continue
                known = ", ".join(self.available_overrides()) or "none"
                raise ExpectedError(f"unknown configuration {name!r}; available: {known}")
            try:
                loaded = yaml.safe_load(path.read_text()) or {}
            except yaml.YAMLError as err:
                raise ExpectedError(f"{name} is not valid YAML: {err}") from None
            if not isinstance(loaded, dict):
                raise ExpectedError(f"{name} must hold a mapping of settings")
            values.update(loaded)
        try:
            return self.config_model.model_validate(values)
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()
            )
            raise ExpectedError(f"invalid configuration {override or DEFAULTS_FILE}: "
                                f"{problems}") from None

    async def configure(self, config: Any) -> None:
        """Apply a validated configuration (subclasses)."""
