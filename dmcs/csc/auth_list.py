"""Who may command a CSC (the observatory's authList rules)."""

from __future__ import annotations

import re

_USER = re.compile(r"^[^@\s,]+@[^@\s,]+$")
_CSC = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(:\d+)?$")


class AuthList:
    """Users must be listed in `authorized_users`; CSCs may command unless listed in
    `non_authorized_cscs`. The user running the CSC, and the CSC itself, always may.
    """

    def __init__(self) -> None:
        self.authorized_users: set[str] = set()
        self.non_authorized_cscs: set[str] = set()

    def allows(self, identity: str, owner: str, own_identity: str) -> bool:
        if identity in (owner, own_identity):
            return True
        if "@" in identity:
            return identity in self.authorized_users
        name = identity.split(":")[0]
        return identity not in self.non_authorized_cscs and name not in self.non_authorized_cscs

    def update(self, users: str, cscs: str) -> None:
        """Apply a setAuthList: a full list replaces; entries starting with +/- edit."""
        self.authorized_users = _apply(self.authorized_users, users, _USER, "user")
        self.non_authorized_cscs = _apply(self.non_authorized_cscs, cscs, _CSC, "CSC")


def _apply(current: set[str], text: str, pattern: re.Pattern[str], what: str) -> set[str]:
    text = text.strip()
    if not text:
        return set()
    if text[0] in "+-":
        op, items = text[0], _parse(text[1:], pattern, what)
        return current | items if op == "+" else current - items
    return _parse(text, pattern, what)


def _parse(text: str, pattern: re.Pattern[str], what: str) -> set[str]:
    items = {item.strip() for item in text.split(",") if item.strip()}
    bad = sorted(item for item in items if not pattern.match(item))
    if bad:
        raise ValueError(f"invalid {what} name(s) in auth list: {', '.join(bad)}")
    return items
