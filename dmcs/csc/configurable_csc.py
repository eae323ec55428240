"""ConfigurableCsc: YAML configurations, validated by a pydantic model, applied on `start`."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from dmcs.csc.base_csc import BaseCsc
from dmcs.sal.domain import Domain
from dmcs.sal.topics.controller_command import ExpectedError
from dmcs.state_machines.summary_state import State
from dmcs.validation import YamlMappingError, describe_problems, parse_yaml_mapping

DEFAULTS_FILE = "_init.yaml"


class ConfigurableCsc(BaseCsc):
    """A CSC whose `start(configurationOverride)` applies `<config_dir>/_init.yaml` and then
    the named override file on top. An invalid configuration fails `start` naming the bad
    field, and the CSC stays in STANDBY.

    ``config_model`` (a pydantic model) declares the settings; packaged defaults live in
    ``config/<Name>/`` beside the module of the CSC class. ``config_root`` replaces that
    ``config`` folder: it holds one folder per component, so one directory can configure a
    whole deployment (``dmcs run --config-dir``, ``DMCS_CONFIG_DIR``).
    """

    config_model: ClassVar[type[BaseModel]]

    def __init__(
        self,
        domain: Domain,
        index: int = 0,
        *,
        config_root: Path | None = None,
        initial_state: State = State.STANDBY,
        simulation_mode: int = 0,
        override: str = "",
    ) -> None:
        super().__init__(domain, index, initial_state=initial_state,
                         simulation_mode=simulation_mode)
        self.config_dir = (config_root or self.packaged_config_root()) / self.interface.name
        self.config: BaseModel | None = None
        self._initial_override = override

    @classmethod
    def packaged_config_root(cls) -> Path:
        """The `config` folder shipped beside the module that declares this CSC."""
        return Path(inspect.getfile(cls)).parent / "config"

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
                values.update(parse_yaml_mapping(path.read_text(), str(path)))
            except YamlMappingError as err:
                raise ExpectedError(str(err)) from None
        try:
            return self.config_model.model_validate(values)
        except ValidationError as err:
            problems = describe_problems(err)
            raise ExpectedError(f"invalid configuration {override or DEFAULTS_FILE}: "
                                f"{problems}") from None

    async def configure(self, config: Any) -> None:
        """Apply a validated configuration (subclasses)."""

