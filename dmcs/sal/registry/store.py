"""What the registry knows, rebuilt by applying its log (the `_schemas` topic) in order.

The records are Confluent's: a key ``{"keytype": "SCHEMA", "subject", "version", "magic": 1}``
with the value ``{"subject", "version", "id", "schema", "deleted"}`` registers a version;
``CONFIG`` keys carry a compatibility level (subject ``null``: the global one);
``DELETE_SUBJECT`` soft-deletes a subject's versions. The log is the arbiter: every registry
on a cluster applies the same records in the same order with the same rules, so a record that
conflicts with an earlier one (an id or a subject version already taken by another schema) is
ignored by all of them, and the registry that wrote it retries. Ids are derived from the
schema itself (a hash, moved on past a collision), so a registry that starts again on an empty
log gives every schema the id it had before.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from dmcs.sal.registry.compatibility import DEFAULT_LEVEL

#: Hashed ids stay above the range that imported, chosen ids (e.g. Rubin's alerts' 1101) use.
_FIRST_HASHED_ID = 100_000
_ID_SPAN = 2**31 - 1 - _FIRST_HASHED_ID


class InvalidSchemaError(ValueError):
    """Text that is not an Avro schema (HTTP 422, error code 42201)."""


@dataclass
class Version:
    """One version of one subject."""

    subject: str
    version: int
    id: int
    schema: str
    deleted: bool = False

    def answer(self) -> dict[str, Any]:
        return {"subject": self.subject, "version": self.version, "id": self.id,
                "schema": self.schema}


def normalize(schema_text: str) -> str:
    """The identity of a schema: its JSON with keys sorted and no spaces."""
    try:
        parsed = json.loads(schema_text)
    except (ValueError, TypeError) as err:
        raise InvalidSchemaError(f"schema is not JSON: {err}") from None
    return json.dumps(parsed, sort_keys=True, separators=(",", ":"))


def hashed_id(normalized: str, attempt: int = 0) -> int:
    """The id a schema gets unless it collides (then `attempt` moves it on)."""
    digest = hashlib.sha256(normalized.encode()).digest()
    return _FIRST_HASHED_ID + (int.from_bytes(digest[:8], "big") + attempt) % _ID_SPAN


def schema_key(subject: str, version: int) -> dict[str, Any]:
    return {"keytype": "SCHEMA", "subject": subject, "version": version, "magic": 1}


def config_key(subject: str | None) -> dict[str, Any]:
    return {"keytype": "CONFIG", "subject": subject, "magic": 0}


def delete_subject_key(subject: str) -> dict[str, Any]:
    return {"keytype": "DELETE_SUBJECT", "subject": subject, "magic": 0}


class SchemaStore:
    """Subjects, versions, ids and compatibility levels; see the module docstring."""

    def __init__(self) -> None:
        self.by_id: dict[int, str] = {}
        self._id_of: dict[str, int] = {}
        self._norm_of_id: dict[int, str] = {}
        self.subjects: dict[str, list[Version]] = {}
        self.levels: dict[str | None, str] = {}

    # --- applying the log ---------------------------------------------------------------

    def apply(self, key: Any, value: Any) -> bool:
        """Apply one log record; False if it is ignored (malformed or in conflict)."""
        if not isinstance(key, dict):
            return False
        kind = key.get("keytype")
        subject = key.get("subject")
        if kind == "CONFIG":
            return self._apply_config(subject, value)
        if not isinstance(subject, str):
            return False
        if kind == "DELETE_SUBJECT":
            upto = value.get("version") if isinstance(value, dict) else None
            for version in self.subjects.get(subject, []):
                if upto is None or version.version <= upto:
                    version.deleted = True
            return True
        if kind == "SCHEMA":
            return self._apply_schema(subject, key.get("version"), value)
        return False

    def _apply_config(self, subject: Any, value: Any) -> bool:
        if subject is not None and not isinstance(subject, str):
            return False
        if value is None:
            self.levels.pop(subject, None)
            return True
        level = value.get("compatibilityLevel") if isinstance(value, dict) else None
        if not isinstance(level, str):
            return False
        self.levels[subject] = level
        return True

    def _apply_schema(self, subject: str, number: Any, value: Any) -> bool:
        if not isinstance(number, int):
            return False
        versions = self.subjects.setdefault(subject, [])
        existing = next((v for v in versions if v.version == number), None)
        if value is None:  # a tombstone: the version is gone for good
            if existing is not None:
                versions.remove(existing)
            return True
        if not isinstance(value, dict) or value.get("deleted"):
            if existing is not None:
                existing.deleted = True
            return isinstance(value, dict)
        schema_id, text = value.get("id"), value.get("schema")
        if not isinstance(schema_id, int) or not isinstance(text, str):
            return False
        try:
            norm = normalize(text)
        except InvalidSchemaError:
            return False
        if self._norm_of_id.get(schema_id, norm) != norm:
            return False  # the id holds another schema
        if existing is not None:
            return existing.id == schema_id  # a replay of the same record is harmless
        if any(v.id == schema_id and not v.deleted for v in versions):
            return False  # registered twice at once: the first version stands
        versions.append(Version(subject, number, schema_id, text))
        versions.sort(key=lambda v: v.version)
        self.by_id.setdefault(schema_id, text)
        self._norm_of_id[schema_id] = norm
        self._id_of.setdefault(norm, schema_id)
        return True

    # --- questions the server asks ------------------------------------------------------

    def live(self, subject: str) -> list[Version]:
        """The subject's versions that are not deleted, oldest first."""
        return [v for v in self.subjects.get(subject, []) if not v.deleted]

    def find(self, subject: str, norm: str) -> Version | None:
        """The live version of `subject` holding the schema whose identity is `norm`."""
        schema_id = self._id_of.get(norm)
        return next((v for v in self.live(subject) if v.id == schema_id), None)

    def next_version(self, subject: str) -> int:
        return max((v.version for v in self.subjects.get(subject, [])), default=0) + 1

    def choose_id(self, norm: str, requested: int | None = None) -> int:
        """The id for a schema: its existing one, else the requested one if free, else hashed.

        Raises ValueError if `requested` holds another schema.
        """
        if norm in self._id_of:
            known = self._id_of[norm]
            if requested is not None and requested != known:
                raise ValueError(f"schema already has id {known}, not {requested}")
            return known
        if requested is not None:
            if requested in self._norm_of_id:
                raise ValueError(f"id {requested} is taken by another schema")
            return requested
        attempt = 0
        while hashed_id(norm, attempt) in self._norm_of_id:
            attempt += 1
        return hashed_id(norm, attempt)

    def level(self, subject: str | None) -> str:
        """The compatibility level in force for `subject` (its own, else the global one)."""
        if subject is not None and subject in self.levels:
            return self.levels[subject]
        return self.levels.get(None, DEFAULT_LEVEL)

    def records(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Every live record of this state, to write again into a log that was lost."""
        out: list[tuple[dict[str, Any], dict[str, Any]]] = [
            (config_key(subject), {"compatibilityLevel": level})
            for subject, level in self.levels.items()]
        for versions in self.subjects.values():
            for v in versions:
                out.append((schema_key(v.subject, v.version),
                            {"subject": v.subject, "version": v.version, "id": v.id,
                             "schema": v.schema, "deleted": v.deleted}))
        return out
