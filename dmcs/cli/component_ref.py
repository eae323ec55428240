"""`Component[:index]` on the command line, checked against the component registry."""

from __future__ import annotations

from dataclasses import dataclass

from dmcs.cli.errors import CliError
from dmcs.csc.registry import get_interface
from dmcs.sal.controller import component_identity
from dmcs.sal.interface import Interface


@dataclass(frozen=True)
class ComponentRef:
    """A registered component and an index.

    Index 0 is the only instance of a component that is not indexed, and "every index" of
    an indexed one (allowed only for reading verbs such as `watch`).
    """

    interface: Interface
    index: int

    @property
    def name(self) -> str:
        return component_identity(self.interface.name, self.index)

    @classmethod
    def parse(cls, text: str, *, index: int | None = None, to_command: bool) -> ComponentRef:
        """Parse `Name` or `Name:index`, or `Name` with `index` from an `--index` option.

        CliError (exit status 2) names the mistake: the index given both ways, an index that
        is not a non-negative integer, an unknown name (listing the known ones), an index on
        a component that is not indexed, or — when `to_command`, since a command goes to one
        instance — no index for an indexed component.
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
