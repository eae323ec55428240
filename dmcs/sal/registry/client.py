"""A Confluent Schema Registry client for dmcs's writers and readers (asyncio, aiohttp).

Each lookup happens once per process: a registered (subject, schema) keeps its id and a
fetched id keeps its schema for good, so a registry that goes away later costs nothing for
the ids already known; a new one is retried with backoff until `retry_for` has passed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any
from urllib.parse import quote

import aiohttp
from fastavro import parse_schema

from dmcs.async_resource import AsyncResource

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
#: How long a registration or lookup is retried while the registry cannot be reached.
DEFAULT_RETRY_FOR = 30.0
_REQUEST_TIMEOUT = 10.0
_RETRY_MIN, _RETRY_MAX = 0.1, 2.0


class RegistryError(RuntimeError):
    """The registry could not be reached or refused a request; the text says which and why."""


class UnreachableError(RegistryError):
    """No answer from the registry within the retry time."""


class SchemaRefusedError(RegistryError):
    """The registry refused a schema (409 incompatible, 422 invalid)."""

    def __init__(self, subject: str, status: int, message: str) -> None:
        self.subject = subject
        self.status = status
        self.message = message
        super().__init__(f"schema registry refused the schema of {subject} "
                         f"(HTTP {status}): {message}")


class UnknownSchemaError(RegistryError):
    """The registry has no schema with that id (40403)."""


class RegistryClient(AsyncResource):
    """Register schemas and fetch them by id, with caches; ``async with RegistryClient(url)``."""

    def __init__(self, url: str, *, retry_for: float = DEFAULT_RETRY_FOR) -> None:
        self.url = url.rstrip("/")
        self.retry_for = retry_for
        self._session: aiohttp.ClientSession | None = None
        self._ids: dict[tuple[str, str], int] = {}
        self._schemas: dict[int, dict[str, Any]] = {}
        self._parsed: dict[int, Any] = {}
        self._locks: dict[Any, asyncio.Lock] = {}
        #: Requests sent (a test and the benchmarks check lookups are not per message).
        self.requests = 0
        self._answered = False
        self._away_since: float | None = None

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=_REQUEST_TIMEOUT),
                headers={"Accept": CONTENT_TYPE},
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- the calls writers and readers make ---------------------------------------------

    async def register(self, subject: str, schema_text: str, schema_id: int | None = None) -> int:
        """The id of `schema_text` under `subject`, registering it if needed.

        `schema_id` asks for that id (as Rubin's alert schema is 1101); the registry refuses
        if the id holds another schema.
        """
        key = (subject, schema_text)
        known = self._ids.get(key)
        if known is not None:
            return known
        async with self._lock(key):
            if key in self._ids:
                return self._ids[key]
            body: dict[str, Any] = {"schema": schema_text}
            if schema_id is not None:
                body["id"] = schema_id
            status, answer = await self._request(
                "POST", f"/subjects/{_quote(subject)}/versions", body)
            if status in (409, 422) or (status == 400 and schema_id is not None):
                raise SchemaRefusedError(subject, status, _message(answer))
            if status != 200 or "id" not in answer:
                raise RegistryError(f"registering {subject} at {self.url}: HTTP {status} "
                                    f"{_message(answer)}")
            new_id = int(answer["id"])
            self._ids[key] = new_id
            self._schemas.setdefault(new_id, json.loads(schema_text))
            return new_id

    async def schema(self, schema_id: int) -> dict[str, Any]:
        """The schema registered with `schema_id` (fetched once)."""
        known = self._schemas.get(schema_id)
        if known is not None:
            return known
        async with self._lock(schema_id):
            if schema_id in self._schemas:
                return self._schemas[schema_id]
            status, answer = await self._request("GET", f"/schemas/ids/{schema_id}")
            if status == 404:
                raise UnknownSchemaError(f"schema registry {self.url} has no schema id "
                                         f"{schema_id}: {_message(answer)}")
            if status != 200 or "schema" not in answer:
                raise RegistryError(f"fetching schema {schema_id} from {self.url}: "
                                    f"HTTP {status} {_message(answer)}")
            schema: dict[str, Any] = json.loads(answer["schema"])
            self._schemas[schema_id] = schema
            return schema

    async def parsed_schema(self, schema_id: int) -> Any:
        """The fastavro-parsed schema of `schema_id` (fetched and parsed once)."""
        parsed = self._parsed.get(schema_id)
        if parsed is None:
            parsed = self._parsed[schema_id] = parse_schema(await self.schema(schema_id))
        return parsed

    def known_parsed_schema(self, schema_id: int) -> Any | None:
        """The parsed schema of `schema_id` if this process already has it, without waiting."""
        return self._parsed.get(schema_id)

    async def subjects(self) -> list[str]:
        """Every subject the registry holds."""
        status, answer = await self._request("GET", "/subjects")
        if status != 200 or not isinstance(answer, list):
            raise RegistryError(f"listing subjects of {self.url}: HTTP {status} "
                                f"{_message(answer)}")
        return [str(s) for s in answer]

    async def latest(self, subject: str) -> dict[str, Any]:
        """The latest version of `subject`: ``{subject, version, id, schema}``."""
        status, answer = await self._request(
            "GET", f"/subjects/{_quote(subject)}/versions/latest")
        if status == 404:
            raise RegistryError(f"schema registry {self.url} has no subject {subject}: "
                                f"{_message(answer)}")
        if status != 200:
            raise RegistryError(f"reading {subject} from {self.url}: HTTP {status} "
                                f"{_message(answer)}")
        return dict(answer)

    # --- HTTP ---------------------------------------------------------------------------

    def _lock(self, key: Any) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    async def _request(self, method: str, path: str,
                       body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """(status, decoded JSON); retried with backoff while the registry is unreachable."""
        await self.start()
        assert self._session is not None
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": CONTENT_TYPE} if body is not None else None
        deadline = time.monotonic() + self.retry_for
        delay = _RETRY_MIN
        failures = 0
        while True:
            try:
                self.requests += 1
                async with self._session.request(method, self.url + path, data=data,
                                                 headers=headers) as response:
                    text = await response.text()
                    if response.status >= 500 and time.monotonic() < deadline:
                        raise aiohttp.ClientResponseError(
                            response.request_info, (), status=response.status, message=text)
                    self._back()
                    return response.status, _json(text)
            except (aiohttp.ClientError, OSError, TimeoutError) as err:
                failures += 1
                if time.monotonic() + delay > deadline:
                    raise UnreachableError(f"schema registry {self.url} unreachable for "
                                           f"{self.retry_for:.0f} s ({err})") from None
                self._away(err)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX)

    def _away(self, err: Exception) -> None:
        """Say once that the registry does not answer: a warning if it did before (a new
        schema id waits; known ones go on), quietly while a process is starting."""
        if self._away_since is None:
            self._away_since = time.monotonic()
            level = logging.WARNING if self._answered else logging.INFO
            log.log(level, "schema registry %s does not answer (%s); retrying", self.url, err)

    def _back(self) -> None:
        if self._away_since is not None and self._answered:
            log.warning("schema registry %s answers again after %.1f s", self.url,
                        time.monotonic() - self._away_since)
        self._away_since = None
        self._answered = True


def _quote(subject: str) -> str:
    return quote(subject, safe="")


def _json(text: str) -> Any:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {"message": text[:200]}


def _message(answer: Any) -> str:
    if isinstance(answer, dict):
        return str(answer.get("message", answer))
    return str(answer)
