"""A local Prometheus (the Debian `prometheus`) for tests and `dmcs night`.

It scrapes the targets listed by file-based service discovery
(:mod:`dmcs.telemetry.prometheus_config`).
"""

from __future__ import annotations

from pathlib import Path

from dmcs.sal.broker import free_port
from dmcs.telemetry.local_server import LocalServer, find_binary
from dmcs.telemetry.prometheus_config import PrometheusConfig


class PrometheusServer(LocalServer):
    """`prometheus` on a free loopback port; config, SD files and TSDB under `data_dir`."""

    name = "prometheus"
    ready_path = "/-/ready"

    def __init__(self, data_dir: Path, scrape_interval: float = 5.0,
                 port: int | None = None) -> None:
        super().__init__(data_dir, port or free_port())
        self.config = PrometheusConfig(data_dir / "sd", scrape_interval)

    def command(self) -> list[str]:
        config_file = self.config.write(self.data_dir / "prometheus.yml")
        return [find_binary("prometheus"), f"--config.file={config_file}",
                f"--storage.tsdb.path={self.data_dir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=30d", "--log.level=warn"]
