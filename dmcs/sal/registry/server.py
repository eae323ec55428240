"""`dmcs registry`: the part of Confluent's Schema Registry REST API that clients call.

confluent-kafka's SchemaRegistryClient and Avro serdes, Telegraf's avro parser, Kafka Connect
and lsst-efd-client call these; answers and errors are Confluent's (content type
``application/vnd.schemaregistry.v1+json``; errors ``{"error_code": 40401, "message": ...}``).
Registrations are stored in the compacted `_schemas` topic (:mod:`.log`), so a restarted
registry, or two on one cluster, give the same ids. Only Avro schemas are served.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from fastavro import parse_schema
from fastavro.schema import SchemaParseException

from dmcs.sal.registry.client import CONTENT_TYPE
from dmcs.sal.registry.compatibility import LEVELS, expand, problems
from dmcs.sal.registry.log import LogError, SchemaLog
from dmcs.sal.registry.store import (
    InvalidSchemaError,
    SchemaStore,
    Version,
    config_key,
    delete_subject_key,
    normalize,
    schema_key,
)

log = logging.getLogger(__name__)

_REGISTER_ATTEMPTS = 5
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RegistryHttpError(Exception):
    """An error answered as Confluent does: HTTP status, error code, message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _answer(body: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type=CONTENT_TYPE)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure is a Confluent error body, never an HTML page or a traceback."""
    try:
        return await handler(request)
    except RegistryHttpError as err:
        return _answer({"error_code": err.code, "message": err.message}, err.status)
    except web.HTTPException as err:
        return _answer({"error_code": err.status, "message": err.reason}, err.status)
    except LogError as err:
        return _answer({"error_code": 50001, "message": f"Error in the backend data store: "
                                                        f"{err}"}, 500)
    except Exception as err:  # a bug: say so in the log, answer 500
        log.exception("registry request %s %s failed", request.method, request.path)
        return _answer({"error_code": 50001, "message": f"internal error: {err!r}"}, 500)


class RegistryServer:
    """The HTTP side: routes over a SchemaStore kept by a SchemaLog."""

    def __init__(self, schema_log: SchemaLog) -> None:
        self.log = schema_log
        self.store: SchemaStore = schema_log.store
        self._lock = asyncio.Lock()
        self.app = web.Application(middlewares=[_errors], client_max_size=8 * 1024 * 1024)
        routes = [
            web.get("/", self.root),
            web.get("/subjects", self.subjects),
            web.post("/subjects/{subject}/versions", self.register),
            web.get("/subjects/{subject}/versions", self.versions),
            web.get("/subjects/{subject}/versions/{version}", self.version),
            web.get("/subjects/{subject}/versions/{version}/schema", self.version_schema),
            web.post("/subjects/{subject}", self.lookup),
            web.delete("/subjects/{subject}", self.delete_subject),
            web.get("/schemas/ids/{id}", self.schema_by_id),
            web.get("/schemas/ids/{id}/versions", self.id_versions),
            web.get("/schemas/ids/{id}/subjects", self.id_subjects),
            web.get("/config", self.get_config),
            web.put("/config", self.put_config),
            web.get("/config/{subject}", self.get_config),
            web.put("/config/{subject}", self.put_config),
            web.post("/compatibility/subjects/{subject}/versions/{version}", self.compatibility),
            web.get("/mode", self.mode),
            web.get("/associations/resources/{namespace}/{name}", self.associations),
        ]
        self.app.add_routes(routes)

    # --- subjects and versions -----------------------------------------------------------

    async def root(self, request: web.Request) -> web.Response:
        return _answer({})

    async def subjects(self, request: web.Request) -> web.Response:
        return _answer(sorted(s for s in self.store.subjects if self.store.live(s)))

    async def versions(self, request: web.Request) -> web.Response:
        return _answer([v.version for v in self._live(request.match_info["subject"])])

    async def version(self, request: web.Request) -> web.Response:
        return _answer(self._version(request).answer())

    async def version_schema(self, request: web.Request) -> web.Response:
        return _answer(json.loads(self._version(request).schema))

    async def register(self, request: web.Request) -> web.Response:
        subject = request.match_info["subject"]
        text, norm, wanted_id = await self._schema_body(request)
        for _ in range(_REGISTER_ATTEMPTS):
            async with self._lock:  # choices and writes in order; read-backs in parallel
                existing = self.store.find(subject, norm)
                if existing is not None:
                    return _answer({"id": existing.id, "version": existing.version,
                                    "subject": subject})
                self._check_compatible(subject, text)
                try:
                    schema_id = self.store.choose_id(norm, wanted_id)
                except ValueError as err:
                    raise RegistryHttpError(422, 42207, f"cannot register {subject}: "
                                                        f"{err}") from None
                version = self.store.next_version(subject)
                record = {"subject": subject, "version": version, "id": schema_id,
                          "schema": text, "deleted": False}
                offset = await self.log.send(schema_key(subject, version), record)
            if await self.log.verdict(offset):
                log.info("registered %s version %d as id %d", subject, version, schema_id)
                return _answer({"id": schema_id, "version": version, "subject": subject})
            # another registration took this version or id first: look again
        raise RegistryHttpError(500, 50001, f"could not register {subject}: the log kept "
                                            "refusing the record (another registry racing?)")

    async def lookup(self, request: web.Request) -> web.Response:
        subject = request.match_info["subject"]
        _, norm, _ = await self._schema_body(request)
        self._live(subject)
        found = self.store.find(subject, norm)
        if found is None:
            raise RegistryHttpError(404, 40403, "Schema not found")
        return _answer(found.answer())

    async def delete_subject(self, request: web.Request) -> web.Response:
        subject = request.match_info["subject"]
        live = self._live(subject)
        permanent = request.query.get("permanent", "false").lower() == "true"
        async with self._lock:
            if permanent:
                for v in self.store.subjects.get(subject, []):
                    await self.log.append(schema_key(subject, v.version), None)
            else:
                await self.log.append(delete_subject_key(subject),
                                      {"subject": subject, "version": live[-1].version})
        return _answer([v.version for v in live])

    # --- schemas by id -------------------------------------------------------------------

    async def schema_by_id(self, request: web.Request) -> web.Response:
        schema_id = self._id(request)
        return _answer({"schema": self.store.by_id[schema_id]})

    async def id_versions(self, request: web.Request) -> web.Response:
        schema_id = self._id(request)
        return _answer([{"subject": v.subject, "version": v.version}
                        for versions in self.store.subjects.values() for v in versions
                        if v.id == schema_id and not v.deleted])

    async def id_subjects(self, request: web.Request) -> web.Response:
        schema_id = self._id(request)
        return _answer(sorted({v.subject for versions in self.store.subjects.values()
                               for v in versions if v.id == schema_id and not v.deleted}))

    # --- compatibility -------------------------------------------------------------------

    async def get_config(self, request: web.Request) -> web.Response:
        subject = request.match_info.get("subject")
        to_global = request.query.get("defaultToGlobal", "false").lower() == "true"
        if subject is not None and subject not in self.store.levels and not to_global:
            raise RegistryHttpError(404, 40408, f"Subject '{subject}' does not have "
                                                    "subject-level compatibility configured")
        return _answer({"compatibilityLevel": self.store.level(subject)})

    async def put_config(self, request: web.Request) -> web.Response:
        subject = request.match_info.get("subject")
        body = await _json_body(request)
        level = body.get("compatibility")
        if level not in LEVELS:
            raise RegistryHttpError(422, 42203, f"Invalid compatibility level {level!r}; "
                                                f"one of {', '.join(LEVELS)}")
        async with self._lock:
            await self.log.append(config_key(subject), {"compatibilityLevel": level})
        return _answer({"compatibility": level})

    async def compatibility(self, request: web.Request) -> web.Response:
        subject = request.match_info["subject"]
        text, _, _ = await self._schema_body(request)
        if request.match_info["version"] == "latest" and not self.store.live(subject):
            return _answer({"is_compatible": True, "messages": []})
        against = self._version(request)
        found = problems(expand(json.loads(text)), [expand(json.loads(against.schema))],
                         self._pairwise(self.store.level(subject)))
        body: dict[str, Any] = {"is_compatible": not found}
        if request.query.get("verbose", "false").lower() == "true":
            body["messages"] = found
        return _answer(body)

    async def mode(self, request: web.Request) -> web.Response:
        return _answer({"mode": "READWRITE"})

    async def associations(self, request: web.Request) -> web.Response:
        """confluent-kafka 2.16's serdes ask once per topic; none here, so they fall back to
        the topic-name strategy (``<topic>-value``)."""
        raise RegistryHttpError(404, 40404, "no associations for this resource")

    # --- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _pairwise(level: str) -> str:
        return level.removesuffix("_TRANSITIVE")

    def _check_compatible(self, subject: str, text: str) -> None:
        earlier = [expand(json.loads(v.schema)) for v in self.store.live(subject)]
        found = problems(expand(json.loads(text)), earlier, self.store.level(subject))
        if found:
            raise RegistryHttpError(
                409, 409, f"Schema being registered is incompatible with an earlier schema "
                          f"for subject \"{subject}\", details: {'; '.join(found)}")

    def _live(self, subject: str) -> list[Version]:
        live = self.store.live(subject)
        if not live:
            raise RegistryHttpError(404, 40401, f"Subject '{subject}' not found.")
        return live

    def _version(self, request: web.Request) -> Version:
        live = self._live(request.match_info["subject"])
        text = request.match_info["version"]
        if text in ("latest", "-1"):
            return live[-1]
        if not text.isdigit() or not 1 <= int(text) <= 2**31 - 1:
            raise RegistryHttpError(422, 42202, "The specified version is not a valid version "
                                                "id. Allowed values are between [1, "
                                                "2^31-1] and the string \"latest\"")
        found = next((v for v in live if v.version == int(text)), None)
        if found is None:
            raise RegistryHttpError(404, 40402, f"Version {text} not found.")
        return found

    def _id(self, request: web.Request) -> int:
        text = request.match_info["id"]
        if not text.isdigit() or int(text) not in self.store.by_id:
            raise RegistryHttpError(404, 40403, "Schema not found")
        return int(text)

    async def _schema_body(self, request: web.Request) -> tuple[str, str, int | None]:
        """(schema text, its identity, requested id) of a register/lookup body, or 422."""
        body = await _json_body(request)
        text = body.get("schema")
        if not isinstance(text, str):
            raise RegistryHttpError(422, 42201, "Invalid schema: 'schema' must be a string")
        if body.get("schemaType", "AVRO") != "AVRO":
            raise RegistryHttpError(422, 42201, f"Invalid schema: schema type "
                                                f"{body.get('schemaType')!r} is not supported "
                                                "(only AVRO)")
        if body.get("references"):
            raise RegistryHttpError(422, 42201, "Invalid schema: references are not supported")
        wanted = body.get("id")
        if wanted is not None and (not isinstance(wanted, int) or isinstance(wanted, bool)
                                   or not 0 < wanted < 2**31):
            raise RegistryHttpError(422, 42201, f"Invalid id {wanted!r}")
        try:
            norm = normalize(text)
            parse_schema(json.loads(text))
        except (InvalidSchemaError, SchemaParseException, ValueError, TypeError, KeyError,
                AttributeError) as err:
            raise RegistryHttpError(422, 42201, f"Invalid schema: {err}") from None
        return text, norm, wanted


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise RegistryHttpError(422, 42201, "request body is not JSON") from None
    if not isinstance(body, dict):
        raise RegistryHttpError(422, 42201, "request body must be a JSON object")
    return body
