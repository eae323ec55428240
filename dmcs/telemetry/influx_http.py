"""InfluxDB's v1 HTTP API (`/write`, `/query`, `/ping`): what InfluxDB 1.x speaks, and 2.x/3.x
through their v1-compatible endpoints."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from dmcs.async_resource import AsyncResource

DEFAULT_DATABASE = "efd"


class InfluxError(RuntimeError):
    """InfluxDB refused a request; `transient` says whether retrying can help."""

    def __init__(self, message: str, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class InfluxHttp(AsyncResource):
    """One aiohttp session (keep-alive connections) to one InfluxDB database.

    Writes are not gzipped: on loopback gzip made InfluxDB slower (65k vs 95k points/s) and
    the writer 4× costlier per point (measured, docs/telemetry.md).

    `write` raises InfluxError(transient=True) when the server is down or overloaded (retry
    later), transient=False when it rejected the data itself (retrying would fail again).
    """

    def __init__(self, url: str, database: str = DEFAULT_DATABASE, timeout: float = 10.0,
                 username: str | None = None, password: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.database = database
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._auth = aiohttp.BasicAuth(username, password or "") if username else None
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout, auth=self._auth)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def ping(self) -> bool:
        try:
            async with self.session.get(f"{self.url}/ping") as response:
                return response.status == 204
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False

    async def create_database(self) -> None:
        """Create the database if it does not exist (idempotent in InfluxDB)."""
        await self.query(f'CREATE DATABASE "{self.database}"', post=True)

    async def write(self, body: bytes) -> int:
        """Write line protocol (µs timestamps); return how many points the server dropped."""
        params = {"db": self.database, "precision": "u"}
        try:
            async with self.session.post(f"{self.url}/write", params=params,
                                         data=body) as response:
                if response.status == 204:
                    return 0
                text = (await response.text()).strip()
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            raise InfluxError(f"InfluxDB at {self.url} unreachable: {err!r}", True) from err
        return _dropped_or_raise(response.status, text)

    async def query(self, q: str, *, post: bool = False, epoch: str | None = None
                    ) -> list[dict[str, Any]]:
        """Run InfluxQL; return the `results` list (one entry per statement).

        Asked for in chunks, so no server-side row limit truncates a long time series (a pain
        of the observatory's EFD users); the chunks are merged here.
        """
        params = {"db": self.database, "q": q, "chunked": "true", "chunk_size": "10000"}
        if epoch:
            params["epoch"] = epoch
        method = self.session.post if post else self.session.get
        try:
            async with method(f"{self.url}/query", params=params) as response:
                text = await response.text()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            raise InfluxError(f"InfluxDB at {self.url} unreachable: {err!r}", True) from err
        try:
            payloads = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError:
            raise InfluxError(f"InfluxDB answered {status}: {text[:200]}", status >= 500) from None
        for payload in payloads:
            if status >= 400 or "error" in payload:
                raise InfluxError(f"InfluxDB: {payload.get('error', text[:200])}", status >= 500)
        return _merge_chunks(payloads)


def _dropped_or_raise(status: int, text: str) -> int:
    """A 400 'partial write' kept the good points: report the dropped count, do not retry."""
    try:
        message = str(json.loads(text).get("error", text))
    except ValueError:
        message = text
    if status == 400 and "partial write" in message:
        dropped = message.rsplit("dropped=", 1)[-1]
        return max(1, int(dropped)) if dropped.isdigit() else 1
    if status == 404 and "database not found" in message:
        raise InfluxError(f"InfluxDB: {message}", True)
    raise InfluxError(f"InfluxDB refused the write ({status}): {message}", status >= 500
                      or status == 429)


def _merge_chunks(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One result per statement, each series' rows concatenated across chunks."""
    merged: dict[int, dict[str, Any]] = {}
    for payload in payloads:
        for result in payload.get("results", []):
            if "error" in result:
                raise InfluxError(f"InfluxDB: {result['error']}", False)
            target = merged.setdefault(result.get("statement_id", 0),
                                       {"statement_id": result.get("statement_id", 0)})
            for series in result.get("series", []):
                known = target.setdefault("series", [])
                same = [s for s in known if s["name"] == series["name"]
                        and s.get("tags") == series.get("tags")]
                if same:
                    same[0]["values"].extend(series.get("values", []))
                else:
                    known.append({**series, "values": list(series.get("values", []))})
    return [merged[k] for k in sorted(merged)]
