"""`Component[:index]` on the command line, checked against the known interfaces."""

from __future__ import annotations

from dataclasses import dataclass

from dmcs.cli.errors import CliError
from dmcs.csc.registry import get_interface
from dmcs.sal.controller import component_identity
from dmcs.sal.interface import Interface


@dataclass(frozen=True)
class ComponentRef:
    """A component and index the user named; index 0 means "every index" (reading only)."""

    interface: Interface
    index: int

    @property
    def name(self) -> str:
        return component_identity(self.interface.name, self.index)

    @classmethod
    def parse(cls, text: str, *, index: int | None = None, to_command: bool) -> ComponentRef:
        """Parse `Name` or `Name:index` (or `Name` plus `index`).

        `to_command` requires an index for an indexed component, since commands go to one.
        """
        name, sep, index_text = text.partition(":")
        if sep:
            if index is not None:
                raise CliError(f"give the index once: {text!r} or --index, not both")
            try:
                index = int(index_text)
            except ValueError:
                raise CliError(f"bad index {index_text!r} in {text!r}: expected an integer, "
                               f"as in {name}:1") from None
        try:
            interface = get_interface(name)
        except ValueError as err:
            raise CliError(str(err)) from None
        index = index or 0
        if index < 0:
            raise CliError(f"bad index {index} for {name}: indices are positive")
        if index and not interface.indexed:
            raise CliError(f"{name} is not indexed: name it without an index")
        if to_command and interface.indexed and not index:
            raise CliError(f"{name} is indexed: name one instance, as in {name}:1")
        return cls(interface, index)
