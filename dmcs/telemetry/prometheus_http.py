"""Prometheus's HTTP query API (`/api/v1/query`, `/api/v1/query_range`)."""

from __future__ import annotations

from typing import Any

import aiohttp

from dmcs.async_resource import AsyncResource


class PrometheusError(RuntimeError):
    """Prometheus refused a query or could not be reached."""


class PrometheusHttp(AsyncResource):
    """Instant and range PromQL queries; results as Prometheus returns them."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _get(self, path: str, params: dict[str, str]) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.get(f"{self.url}{path}", params=params) as response:
                payload = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as err:
            raise PrometheusError(f"Prometheus at {self.url}: {err!r}") from err
        if payload.get("status") != "success":
            raise PrometheusError(f"Prometheus: {payload.get('error', payload)}")
        return payload["data"]

    async def query(self, promql: str) -> list[dict[str, Any]]:
        """Instant vector: one entry per series, `metric` labels and `value` [time, str]."""
        data = await self._get("/api/v1/query", {"query": promql})
        return list(data["result"]) if data["resultType"] in ("vector", "matrix") else [data]

    async def query_range(self, promql: str, start: float, end: float,
                          step: float) -> list[dict[str, Any]]:
        """Range matrix: one entry per series, `values` [[time, str], ...]."""
        data = await self._get("/api/v1/query_range", {
            "query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}",
            "step": f"{max(step, 0.001):.3f}"})
        return list(data["result"])
