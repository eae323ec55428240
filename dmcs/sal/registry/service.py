"""Running the registry: its log on the broker, its HTTP server on a port, until cancelled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from dmcs.sal.registry.log import SchemaLog
from dmcs.sal.registry.server import RegistryServer
from dmcs.sal.registry.store import SchemaStore

log = logging.getLogger(__name__)


async def serve(
    bootstrap_servers: str,
    host: str,
    port: int,
    *,
    security: Mapping[str, Any] | None = None,
    replication_factor: int = 1,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the registry at http://host:port until cancelled; `ready(url)` once it answers."""
    schema_log = SchemaLog(bootstrap_servers, SchemaStore(), security=security,
                           replication_factor=replication_factor)
    await schema_log.start()
    runner = web.AppRunner(RegistryServer(schema_log).app, access_log=None)
    try:
        await runner.setup()
        site = web.TCPSite(runner, host, port, reuse_address=True)
        await site.start()
        url = f"http://{host}:{port}"
        log.info("schema registry on %s, stored in %s on %s", url, schema_log.topic,
                 bootstrap_servers)
        if ready is not None:
            ready(url)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await schema_log.close()
