"""Telemetry test kit: an EFDWriter CSC and a Prometheus scraping this very process.

In-process CSCs share one prometheus-client registry (labelled by component and index), so
one `/metrics` endpoint of the test process serves them all to a real Prometheus; tests skip
starting a Python process per CSC, which costs tens of seconds on a loaded machine.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from prometheus_client import start_http_server

from dmcs.sal.broker import free_port
from dmcs.sal.domain import Domain
from dmcs.state_machines.summary_state import State
from dmcs.telemetry.efd_writer_csc import EfdWriterCsc
from dmcs.telemetry.prometheus_server import PrometheusServer

TEST_CLAIM_SECONDS = 0.2


@contextlib.contextmanager
def prometheus_scraping_this_process(data_dir: Path, scrape_interval: float = 0.5
                                     ) -> Iterator[PrometheusServer]:
    """A real Prometheus whose one target is this process's `/metrics` (label `process`:
    `this`)."""
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1")
    try:
        with PrometheusServer(data_dir, scrape_interval=scrape_interval) as prometheus:
            prometheus.config.add_target("this", port)
            yield prometheus
    finally:
        server.shutdown()
        thread.join(5)


@contextlib.asynccontextmanager
async def efd_writer_csc(domain: Domain, influx_url: str, database: str = "efd",
                         health_interval: float = 0.2, flush_interval: float = 0.02
                         ) -> AsyncIterator[EfdWriterCsc]:
    """An EFDWriter CSC started ENABLED, writing the domain's topics to `database` at
    `influx_url`."""
    with tempfile.TemporaryDirectory(prefix="dmcs-efd-writer-") as root:
        folder = Path(root) / "EFDWriter"
        folder.mkdir()
        (folder / "_init.yaml").write_text(
            f"influx_url: {influx_url}\ndatabase: {database}\n"
            f"health_interval: {health_interval}\n"
            f"flush_interval: {flush_interval}\n")
        csc = EfdWriterCsc(domain, 0, config_root=Path(root), initial_state=State.ENABLED)
        await csc.start(claim_seconds=TEST_CLAIM_SECONDS)
        try:
            yield csc
        finally:
            await csc.close()
